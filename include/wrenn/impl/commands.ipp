#pragma once

#include <wrenn/client.hpp>
#include <wrenn/commands.hpp>
#include <wrenn/impl/client_impl.hpp>
#include <wrenn/error.hpp>
#include <wrenn/protocol/url.hpp>
#include <wrenn/protocol/answers.hpp>
#include <wrenn/protocol/stream_messages.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace wrenn {

namespace detail {

inline std::string quoted_command(std::string_view cmd) {
    std::string q(cmd.substr(0, 60));
    if (cmd.size() > 60) q += "...";
    return "'" + q + "'";
}

// commands.run with on_stdout/on_stderr: over the exec stream, with the
// timeout enforced here (the stream endpoint has none).
inline boost::asio::awaitable<command_result> run_streaming(std::shared_ptr<client_impl> c, std::string id,
                                                           std::string start_message,
                                                           std::optional<std::chrono::seconds> timeout,
                                                           output_callback::function on_stdout,
                                                           output_callback::function on_stderr,
                                                           std::string operation) {
    using namespace boost::asio::experimental::awaitable_operators;
    if (timeout && timeout->count() <= 0) timeout = std::chrono::seconds(30);  // as the server reads 0
    auto t0 = std::chrono::steady_clock::now();
    auto stream = co_await open_process_stream(c, client_impl::capsule_path(id, "/exec/stream"),
                                               std::move(start_message), operation, false, id);
    command_result r;
    r.pid = stream.pid();
    auto read_all = [&]() -> boost::asio::awaitable<void> {
        while (auto ev = co_await stream.next()) {
            if (ev->is_stdout()) {
                r.stdout_text += ev->data;
                if (on_stdout) on_stdout(ev->data);
            } else if (ev->is_stderr()) {
                r.stderr_text += ev->data;
                if (on_stderr) on_stderr(ev->data);
            } else if (ev->is_exit()) {
                r.exit_code = ev->exit_code;
            } else if (ev->is_error()) {
                throw agent_error("agent_error", operation + ": " + ev->data);
            }
        }
    };
    std::exception_ptr failure;
    // Catches its own failure: `||` waits for the first branch that *succeeds*,
    // so a throwing branch would otherwise be reported as the timer's win.
    auto collect = [&]() -> boost::asio::awaitable<void> {
        try {
            co_await read_all();
        } catch (...) {
            failure = std::current_exception();
        }
    };
    bool timed_out = false;
    try {
        if (timeout) {
            boost::asio::steady_timer timer(c->executor, *timeout);
            auto winner = co_await (collect() || timer.async_wait(boost::asio::use_awaitable));
            timed_out = winner.index() == 1;
        } else {
            co_await collect();
        }
    } catch (...) {
        if (!failure) failure = std::current_exception();  // cancelled from outside
    }
    if (timed_out) failure = nullptr;  // only the cancellation the timer caused
    if ((failure || timed_out) && r.pid > 0 && !stream.exit_code()) {
        // a foreground command does not outlive its run(): also when cancelled
        co_await boost::asio::this_coro::reset_cancellation_state();
        try {
            co_await capsules_api(c).kill_process(id, std::to_string(r.pid), kill_signal::sigkill);
        } catch (...) {
        }
    }
    if (failure) std::rethrow_exception(failure);
    if (timed_out)
        throw timeout_error("command_timeout", operation + ": still running after " +
                                                   std::to_string(timeout->count()) +
                                                   " s (run_options.timeout); it was killed");
    r.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    co_return r;
}

} // namespace detail

WRENN_DECL boost::asio::any_io_executor commands::get_executor() const { return c_->executor; }

WRENN_DECL boost::asio::awaitable<command_result> commands::run(std::string cmd, run_options opts) const {
    if (opts.on_stdout || opts.on_stderr) {
        if (opts.background)
            throw usage_error("invalid_options", "commands.run(" + detail::quoted_command(cmd) +
                                                     "): on_stdout/on_stderr need a foreground command; "
                                                     "use commands.connect(pid) to follow a background one");
        auto command = protocol::make_stream_command(cmd, {}, opts.envs.to_map(), opts.cwd);
        return detail::run_streaming(c_, id_, protocol::exec_stream_start_message(command), opts.timeout,
                                     opts.on_stdout.to_function(), opts.on_stderr.to_function(),
                                     "commands.run(" + detail::quoted_command(cmd) + ")");
    }
    auto req = protocol::shell_exec_request(cmd);
    if (!opts.envs.empty()) req.envs = opts.envs.to_map();
    if (!opts.cwd.empty()) req.cwd = std::string(opts.cwd);
    if (!opts.background) {
        if (opts.timeout) req.timeout_sec = static_cast<int>(opts.timeout->count());
        // not a coroutine itself: the awaitable holds the client and id, not `this`
        return capsules_api(c_).exec(id_, std::move(req));
    }
    if (!opts.tag.empty()) req.tag = std::string(opts.tag);
    return [](capsules_api api, std::string id, exec_request req) -> boost::asio::awaitable<command_result> {
        auto h = co_await api.exec_background(std::move(id), std::move(req));
        command_result r;
        r.pid = h.pid;
        r.tag = std::move(h.tag);
        co_return r;
    }(capsules_api(c_), id_, std::move(req));
}

WRENN_DECL boost::asio::awaitable<process_stream> commands::stream(std::string cmd, stream_options opts) const {
    auto command = protocol::make_stream_command(cmd, opts.args.to_vector(), opts.envs.to_map(), opts.cwd);
    return detail::open_process_stream(c_, detail::client_impl::capsule_path(id_, "/exec/stream"),
                                       protocol::exec_stream_start_message(command),
                                       "commands.stream(" + detail::quoted_command(cmd) + ") in " + id_, false, id_);
}

WRENN_DECL boost::asio::awaitable<process_stream> commands::connect(int pid) const {
    if (pid <= 0)
        throw usage_error("invalid_pid", "commands.connect(" + std::to_string(pid) + "): a pid is a positive number");
    return detail::open_process_stream(c_,
                                       detail::client_impl::capsule_path(id_, "/processes/" + std::to_string(pid) + "/stream"),
                                       {}, "commands.connect(" + std::to_string(pid) + ") in " + id_, true);
}

WRENN_DECL boost::asio::awaitable<process_stream> commands::connect(std::string tag) const {
    if (tag.empty() || tag.find_first_not_of("0123456789") == std::string::npos)
        throw usage_error("invalid_tag", "commands.connect: '" + tag +
                                             "' is not a usable tag (empty or all digits reads as a pid); "
                                             "pass the pid as an int instead");
    auto path = detail::client_impl::capsule_path(id_, "/processes/" + protocol::encode_component(tag) + "/stream");
    return detail::open_process_stream(c_, std::move(path), {}, "commands.connect(\"" + tag + "\") in " + id_, true);
}

WRENN_DECL boost::asio::awaitable<std::vector<process_info>> commands::list() const {
    return capsules_api(c_).processes(id_);
}

WRENN_DECL boost::asio::awaitable<void> commands::kill(int pid, kill_signal signal) const {
    if (pid <= 0)
        throw usage_error("invalid_pid", "commands.kill(" + std::to_string(pid) + "): a pid is a positive number");
    return capsules_api(c_).kill_process(id_, std::to_string(pid), signal);
}

WRENN_DECL boost::asio::awaitable<void> commands::kill(std::string tag, kill_signal signal) const {
    if (tag.empty() || tag.find_first_not_of("0123456789") == std::string::npos)
        throw usage_error("invalid_tag", "commands.kill: '" + tag +
                                             "' is not a usable tag (empty or all digits reads as a pid); "
                                             "pass the pid as an int instead");
    return capsules_api(c_).kill_process(id_, std::move(tag), signal);
}

} // namespace wrenn
