// Build-mode switch, the Boost.MySQL way: WRENN_DECL is `inline` when the
// library is used header-only and empty when one TU includes <wrenn/src.hpp>.
#pragma once

#ifdef WRENN_SEPARATE_COMPILATION
#define WRENN_DECL
#else
#define WRENN_DECL inline
#define WRENN_HEADER_ONLY 1
#endif
