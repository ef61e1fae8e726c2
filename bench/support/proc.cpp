#include "proc.hpp"

#include <cstring>
#include <fstream>
#include <string>

namespace bench {

long proc_status_kib(const char* key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    auto n = std::strlen(key);
    while (std::getline(in, line))
        if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':') return std::stol(line.substr(n + 1));
    return -1;
}

} // namespace bench
