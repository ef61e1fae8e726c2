// The number of descriptors this process has open, for tests that check
// that nothing leaks one.
#pragma once

#include <dirent.h>

#include <cstddef>

namespace wrenn_test {

inline std::size_t open_descriptors() {
    std::size_t n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d)) ++n;
        ::closedir(d);
    }
    return n;
}

} // namespace wrenn_test
