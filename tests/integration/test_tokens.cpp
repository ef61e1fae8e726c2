// Completion tokens against a real wrenn-local: every operation also takes
// callbacks, use_future, deferred (parallel groups), use_promise, as_tuple,
// and use_awaitable_t of another executor type; cancellation reaches the
// operation through each; errors come back as values with their class.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>

#include "local_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/experimental/promise.hpp>
#include <boost/asio/experimental/use_promise.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <future>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using wrenn::capsule;
using wrenn_test::local_server;

namespace {

// An io_context run by a thread of its own for the test's length.
struct running_context {
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    std::thread thread{[this] { ioc.run(); }};
    ~running_context() {
        work.reset();
        ioc.stop();
        thread.join();
    }
};

template <class T>
T get(std::future<T>& f) {
    if (f.wait_for(120s) != std::future_status::ready) FAIL("no completion within 120 s");
    return f.get();
}

} // namespace

TEST_CASE("tokens: a program with no coroutine at all creates a capsule, runs a command and destroys it with callbacks",
          "[tokens]") {
    local_server srv;
    asio::io_context ioc;
    wrenn::client c(ioc, srv.config());
    std::string output, failure;
    bool destroyed = false;
    std::optional<capsule> cap;
    capsule::create(c, {.wait = true}, [&](std::exception_ptr e, capsule made) {
        if (e) return void(failure = wrenn::error_of(e) ? wrenn::error_of(e)->what() : "create failed");
        cap.emplace(std::move(made));
        cap->commands.run("echo from a callback", {}, [&](std::exception_ptr e, wrenn::command_result r) {
            if (e) return void(failure = "run failed");
            output = r.stdout_text;
            cap->destroy([&](std::exception_ptr e) {
                if (e) failure = "destroy failed";
                destroyed = !e;
            });
        });
    });
    ioc.run();  // returns once nothing is left to do
    CHECK(failure.empty());
    CHECK(output == "from a callback\n");
    CHECK(destroyed);
    // the capsule is gone on the server
    auto list = capsule::list(c, asio::use_future);
    ioc.restart();
    ioc.run();
    auto left = list.get();
    CHECK(std::none_of(left.begin(), left.end(), [&](auto& i) { return i.id == cap->id(); }));
}

TEST_CASE("tokens: use_future, deferred in a parallel group, use_promise, and use_awaitable_t on a strand",
          "[tokens]") {
    local_server srv;
    running_context rc;
    wrenn::client c(rc.ioc, srv.config());
    auto made = capsule::create(c, {.wait = true}, asio::use_future);
    auto cap = get(made);

    // use_future: a REST call, run with callbacks, a file round trip
    auto info = cap.get_info(asio::use_future);
    CHECK(get(info).id == cap.id());
    std::string streamed;
    auto run = cap.commands.run("printf a; printf b", {.on_stdout = [&](std::string_view s) { streamed += s; }},
                                asio::use_future);
    CHECK(get(run).stdout_text == "ab");
    CHECK(streamed == "ab");
    auto wrote = cap.files.write("/tmp/f", std::string_view("bytes"), asio::use_future);
    get(wrote);
    auto read = cap.files.read("/tmp/f", asio::use_future);
    CHECK(get(read) == "bytes");

    // deferred: two commands gathered by a parallel group, both results kept
    auto both = asio::experimental::make_parallel_group(cap.commands.run("echo one", {}, asio::deferred),
                                                        cap.commands.run("echo two", {}, asio::deferred))
                    .async_wait(asio::experimental::wait_for_all(), asio::use_future);
    auto [order, e1, r1, e2, r2] = get(both);
    CHECK(!e1);
    CHECK(!e2);
    CHECK(r1.stdout_text == "one\n");
    CHECK(r2.stdout_text == "two\n");
    CHECK(order.size() == 2);

    // use_promise: started at once, awaited later. (Boost 1.81's experimental
    // promise drops the value of any co_spawn-based operation, Asio's own
    // co_spawn included: an operation without a result shows it works.)
    auto checked = asio::co_spawn(
        rc.ioc,
        [&]() -> asio::awaitable<std::string> {
            auto p = cap.files.write("/tmp/promised", std::string_view("kept"), asio::experimental::use_promise);
            co_await p(asio::use_awaitable);
            co_return co_await cap.files.read("/tmp/promised");
        },
        asio::use_future);
    CHECK(get(checked) == "kept");

    // use_awaitable_t<strand>: a coroutine on its own executor type resumes on it
    using strand_type = asio::strand<asio::io_context::executor_type>;
    strand_type strand = asio::make_strand(rc.ioc);
    auto on_strand = asio::co_spawn(
        strand,
        [&]() -> asio::awaitable<bool, strand_type> {
            auto r = co_await cap.commands.run("echo s", {}, asio::use_awaitable_t<strand_type>{});
            auto ex = co_await asio::this_coro::executor;
            co_return r.stdout_text == "s\n" && ex.running_in_this_thread();
        },
        asio::use_future);
    CHECK(get(on_strand));

    auto gone = cap.destroy(asio::use_future);
    get(gone);
}

TEST_CASE("tokens: streams, terminals, downloads and code cells complete through callbacks and futures", "[tokens]") {
    local_server srv;
    running_context rc;
    wrenn::client c(rc.ioc, srv.config());
    auto made = wrenn::code_runner::create(c, {.wait = true}, asio::use_future);
    auto runner = get(made);

    // a stream read with callbacks, event by event, to its exit
    auto opened = runner.commands.stream("printf x; printf y >&2", {}, asio::use_future);
    auto s = get(opened);
    std::promise<std::string> events;
    std::string seen;
    std::function<void(std::exception_ptr, std::optional<wrenn::stream_event>)> on_event;
    on_event = [&](std::exception_ptr e, std::optional<wrenn::stream_event> ev) {
        if (e || !ev) return events.set_value(e ? "error" : seen);
        seen += ev->is_start() ? "start," : ev->is_exit() ? "exit" : ev->data + ",";
        s.next(on_event);
    };
    s.next(on_event);
    auto text = events.get_future();
    auto got = get(text);
    CHECK((got == "start,x,y,exit" || got == "start,y,x,exit"));

    // a terminal: write and read through futures
    auto term_made = runner.pty({.cmd = "cat"}, asio::use_future);
    auto term = get(term_made);
    auto w = term.write("typed\n", asio::use_future);
    get(w);
    std::string screen;
    for (int i = 0; i < 50 && screen.find("typed") == std::string::npos; ++i) {
        auto ev = term.next(asio::use_future);
        auto e = get(ev);
        REQUIRE(e);
        if (e->is_output()) screen += e->data;
    }
    CHECK(screen.find("typed") != std::string::npos);
    auto closed = term.close(asio::use_future);
    get(closed);

    // a streamed download, piece by piece through futures
    auto big = runner.commands.run("head -c 300000 /dev/zero > /tmp/z", {}, asio::use_future);
    get(big);
    auto d_made = runner.files.download_stream("/tmp/z", asio::use_future);
    auto d = get(d_made);
    std::size_t total = 0;
    for (;;) {
        auto piece = d.next(asio::use_future);
        auto p = get(piece);
        if (p.empty()) break;
        total += p.size();
    }
    CHECK(total == 300000);

    // a code cell with a callback
    std::promise<std::string> cell;
    runner.run_code("print(6 * 7)", {}, [&](std::exception_ptr e, wrenn::execution x) {
        cell.set_value(e ? std::string("failed") : x.logs.stdout_text());
    });
    auto out = cell.get_future();
    CHECK(get(out) == "42\n");

    auto gone = runner.destroy(asio::use_future);
    get(gone);
}

TEST_CASE("tokens: errors come back as values, with their class and details", "[tokens]") {
    local_server srv;
    running_context rc;
    wrenn::client c(rc.ioc, srv.config());
    auto missing = asio::co_spawn(
        rc.ioc,
        [&]() -> asio::awaitable<std::exception_ptr> {
            auto [e, info] = co_await c.capsules().get("cl-0000000000000000000000000", asio::as_tuple(asio::use_awaitable));
            co_return e;
        },
        asio::use_future);
    auto e = get(missing);
    REQUIRE(e);
    CHECK(wrenn::error_code_of(e) == wrenn::errc::not_found);
    CHECK(wrenn::error_code_of(e).category().name() == std::string("wrenn"));
    auto* err = wrenn::error_of(e);
    REQUIRE(err);
    CHECK(err->status() == 404);
    CHECK(!err->message().empty());
    CHECK(dynamic_cast<const wrenn::not_found_error*>(err));
    // with use_future the exception itself is thrown by get()
    auto thrown = c.capsules().get("cl-0000000000000000000000000", asio::use_future);
    CHECK_THROWS_AS(thrown.get(), wrenn::not_found_error);
    // no error at all
    CHECK(!wrenn::error_code_of(nullptr));
    CHECK(wrenn::error_of(nullptr) == nullptr);
}

TEST_CASE("tokens: cancellation reaches the operation through callbacks, futures, parallel groups and as_tuple",
          "[tokens]") {
    local_server srv;
    running_context rc;
    wrenn::client c(rc.ioc, srv.config());
    auto made = capsule::create(c, {.wait = true}, asio::use_future);
    auto cap = get(made);
    auto is_cancelled = [](std::exception_ptr e) {
        return wrenn::error_code_of(e) == boost::system::error_code(asio::error::operation_aborted);
    };

    // a callback, cancelled through its slot: the command is killed (callbacks form)
    asio::cancellation_signal signal;
    std::promise<std::exception_ptr> done;
    cap.commands.run("sleep 30", {.on_stdout = [](std::string_view) {}},
                     asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, wrenn::command_result) {
                         done.set_value(e);
                     }));
    asio::steady_timer t(rc.ioc, 300ms);
    t.async_wait([&](boost::system::error_code) { signal.emit(asio::cancellation_type::terminal); });
    auto f = done.get_future();
    CHECK(is_cancelled(get(f)));

    // a future, cancelled the same way: a stream's next()
    auto opened = cap.commands.stream("sleep 30", {}, asio::use_future);
    auto s = get(opened);
    auto start = s.next(asio::use_future);
    REQUIRE(get(start));
    asio::cancellation_signal signal2;
    auto waiting = s.next(asio::bind_cancellation_slot(signal2.slot(), asio::use_future));
    asio::post(rc.ioc, [&] { signal2.emit(asio::cancellation_type::terminal); });
    CHECK_THROWS_AS(waiting.get(), boost::system::system_error);
    auto killed = cap.commands.kill(s.pid(), wrenn::kill_signal::sigkill, asio::use_future);
    get(killed);

    // a parallel group: the first to finish cancels the other
    auto race = asio::experimental::make_parallel_group(cap.commands.run("echo fast", {}, asio::deferred),
                                                        cap.commands.run("sleep 30", {.on_stdout = [](std::string_view) {}},
                                                                         asio::deferred))
                    .async_wait(asio::experimental::wait_for_one(), asio::use_future);
    auto [order, e1, r1, e2, r2] = get(race);
    CHECK(order[0] == 0);
    CHECK(!e1);
    CHECK(r1.stdout_text == "fast\n");
    CHECK(is_cancelled(e2));

    // as_tuple in a coroutine, with a timer's cancellation slot through ||
    auto timed = asio::co_spawn(
        rc.ioc,
        [&]() -> asio::awaitable<bool> {
            asio::cancellation_signal sig;
            asio::steady_timer timer(co_await asio::this_coro::executor, 200ms);
            timer.async_wait([&](boost::system::error_code) { sig.emit(asio::cancellation_type::terminal); });
            auto [e, r] = co_await cap.commands.run(
                "sleep 30", {.on_stdout = [](std::string_view) {}},
                asio::bind_cancellation_slot(sig.slot(), asio::as_tuple(asio::use_awaitable)));
            co_return wrenn::error_code_of(e) == boost::system::error_code(asio::error::operation_aborted);
        },
        asio::use_future);
    CHECK(get(timed));

    // the cancelled callback forms killed their commands
    auto procs = cap.commands.list(asio::use_future);
    auto left = get(procs);
    CHECK(std::none_of(left.begin(), left.end(), [](auto& p) {
        for (auto& a : p.args.value_or(std::vector<std::string>{}))
            if (a.find("sleep 30") != std::string::npos) return true;
        return false;
    }));
    auto gone = cap.destroy(asio::use_future);
    get(gone);
}
