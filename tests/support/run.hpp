// Never co_await inside CHECK/REQUIRE: g++ 12 may evaluate the awaited call
// more than once there. Await into a variable, then check it.
//
// Runs one coroutine of a test to completion on a fresh io_context, with a
// client made from `cfg`. Failures inside propagate as exceptions.
#pragma once

#include <wrenn/client.hpp>
#include <wrenn/sync/runner.hpp>

#include <utility>

namespace wrenn_test {

template <class F>
auto run(const wrenn::config& cfg, F&& body) {
    wrenn::sync::runner r;
    wrenn::client c(r.get_executor(), cfg);
    return r.run(std::forward<F>(body)(c));
}

} // namespace wrenn_test
