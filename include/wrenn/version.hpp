#pragma once

#define WRENN_VERSION_MAJOR 0
#define WRENN_VERSION_MINOR 1
#define WRENN_VERSION_PATCH 0
#define WRENN_VERSION_STRING "0.1.0"

namespace wrenn {
inline constexpr const char* version = WRENN_VERSION_STRING;
}
