// Catching what a test expects to fail, by exception type.
#pragma once

#include <catch2/catch.hpp>

#include "run.hpp"

#include <exception>
#include <stdexcept>

namespace wrenn_test {

// Runs `op` (a coroutine taking a client) and returns what it threw, or nullptr.
template <class F>
std::exception_ptr failure_of(const wrenn::config& cfg, F op) {
    try {
        run(cfg, op);
    } catch (...) {
        return std::current_exception();
    }
    return nullptr;
}

// The exception in `p` as an E; fails the test for anything else.
template <class E>
E as(std::exception_ptr p) {
    REQUIRE(p);
    try {
        std::rethrow_exception(p);
    } catch (const E& e) {
        return e;
    } catch (const std::exception& other) {
        FAIL("wrong exception type: " << other.what());
    }
    throw std::logic_error("unreachable");
}

} // namespace wrenn_test
