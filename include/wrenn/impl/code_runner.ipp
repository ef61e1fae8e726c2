#pragma once

#include <wrenn/code_runner.hpp>
#include <wrenn/impl/client_impl.hpp>
#include <wrenn/detail/http.hpp>
#include <wrenn/detail/websocket.hpp>
#include <wrenn/error.hpp>
#include <wrenn/protocol/answers.hpp>
#include <wrenn/protocol/base64.hpp>
#include <wrenn/protocol/jupyter.hpp>
#include <wrenn/protocol/url.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>

namespace wrenn {

namespace detail {

// Shared by the copies of one code_runner: Jupyter's connection pool and the
// kernel found or started for it. Cells may run at once from any thread:
// `mu` guards the lazily made pool and what is known of the kernel.
struct code_runner_state {
    using lock_type = boost::asio::experimental::concurrent_channel<void(boost::system::error_code)>;

    code_runner_state(std::shared_ptr<client_impl> c, const std::string& capsule_id, std::string kernel)
        : client(std::move(c)), capsule_id(capsule_id), kernel_name(std::move(kernel)), lock(client->executor, 1) {
        // ws(s)://8888-{id}.{domain} -> http(s)://...
        auto ws_url = protocol::capsule_proxy_url(client->base, client->cfg.proxy_domain, capsule_id, jupyter_port);
        url = (ws_url.rfind("wss://", 0) == 0 ? "https://" : "http://") + ws_url.substr(ws_url.find("://") + 3);
    }

    std::shared_ptr<http_transport> transport() {
        std::lock_guard guard(mu);
        if (!pool) {
            auto origin = protocol::parse_url(url);
            if (!origin)
                throw config_error("invalid_proxy_domain", "code_runner: '" + url +
                                                               "' is not a usable URL; check config.proxy_domain "
                                                               "(WRENN_PROXY_DOMAIN)");
            transport_settings ts;
            ts.origin = *origin;
            ts.api_key = client->cfg.api_key;  // harmless for Jupyter; the real proxy may want it
            ts.timeouts = client->cfg.timeouts;
            ts.ca_file = client->cfg.ca_file;
            ts.verify_tls = client->cfg.verify_tls;
            ts.max_connections = client->cfg.max_connections_per_origin;
            ts.retry = client->cfg.retry;
            ts.on_attempt = client->cfg.on_attempt;
            pool = make_http_transport(client->executor, std::move(ts));
        }
        return pool;
    }

    std::string operation(std::string_view what) const { return "code_runner." + std::string(what) + " in " + capsule_id; }

    std::shared_ptr<client_impl> client;
    std::string capsule_id, kernel_name, url;
    std::shared_ptr<http_transport> pool;
    std::optional<std::string> known_kernel() const {
        std::lock_guard guard(mu);
        return kernel_id;
    }
    void set_kernel(std::optional<std::string> id) {
        std::lock_guard guard(mu);
        kernel_id = std::move(id);
    }
    // Forgets the kernel `id` (gone since it was found), unless another one is known by now.
    void forget_kernel(const std::string& id) {
        std::lock_guard guard(mu);
        if (kernel_id == id) kernel_id.reset();
    }

    mutable std::mutex mu;
    std::optional<std::string> kernel_id;
    std::atomic<bool> kernel_restarting = false;  // a cell saw it die: Jupyter is restarting it
    lock_type lock;  // one kernel discovery at a time (full = held)
};

inline std::string describe_duration(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
    return std::to_string(d.count()) + " ms";
}

inline std::string http_error_text(const http_response& r) {
    try {
        std::rethrow_exception(protocol::make_http_error(r.status, r.body, r.retry_after, {}));
    } catch (const std::exception& e) {
        return e.what();
    }
}

// GET /api/kernels, then POST /api/kernels when none has the name. nullopt:
// Jupyter is not answering yet (5xx); `last` says why.
inline boost::asio::awaitable<std::optional<std::string>> try_find_kernel(std::shared_ptr<code_runner_state> st,
                                                                         std::chrono::milliseconds budget,
                                                                         std::string& last) {
    http_request list;
    list.method = http_method::get;
    list.target = "/api/kernels";
    list.idempotent = true;
    list.total_timeout = budget;
    auto r = co_await send(st->transport(), std::move(list));
    if (r.status >= 500) {
        last = http_error_text(r);
        co_return std::nullopt;
    }
    std::string op = st->operation("run_code") + ": GET " + st->url + "/api/kernels";
    if (r.status >= 400) protocol::throw_http_error(r.status, r.body, r.retry_after, {op, false});
    if (auto id = protocol::jupyter::find_kernel(r.body, st->kernel_name)) co_return id;

    http_request create;
    create.method = http_method::post;
    create.target = "/api/kernels";
    create.body = protocol::jupyter::create_kernel_body(st->kernel_name);
    create.content_type = "application/json";
    create.total_timeout = budget;
    r = co_await send(st->transport(), std::move(create));
    if (r.status >= 500) {
        last = http_error_text(r);
        // Jupyter answers 500 for a kernelspec it does not have: tell that
        // apart from a Jupyter still starting, which is worth retrying.
        http_request specs;
        specs.method = http_method::get;
        specs.target = "/api/kernelspecs";
        specs.idempotent = true;
        specs.total_timeout = budget;
        auto s = co_await send(st->transport(), std::move(specs));
        auto names = s.status == 200 ? protocol::jupyter::kernelspec_names(s.body) : std::nullopt;
        if (names && std::find(names->begin(), names->end(), st->kernel_name) == names->end()) {
            std::string known;
            for (auto& n : *names) known += (known.empty() ? "" : ", ") + n;
            throw not_found_error("unknown_kernel", st->operation("run_code") + ": Jupyter has no kernelspec '" +
                                                        st->kernel_name + "' (it has: " + known +
                                                        "); pass one of those as code_runner_options.kernel");
        }
        co_return std::nullopt;
    }
    op = st->operation("run_code") + ": starting kernel '" + st->kernel_name + "' (POST " + st->url +
         "/api/kernels; is that kernelspec installed in the template?)";
    if (r.status >= 400) protocol::throw_http_error(r.status, r.body, r.retry_after, {op, false});
    co_return protocol::jupyter::parse_kernel_id(r.body);
}

// The kernel's id: cached, else found or started, retrying while Jupyter is
// still starting (5xx, connection failures) until `budget` has passed.
inline boost::asio::awaitable<std::string> ensure_kernel(std::shared_ptr<code_runner_state> st,
                                                         std::chrono::milliseconds budget) {
    if (auto id = st->known_kernel()) co_return *id;
    co_await st->lock.async_send(boost::system::error_code{}, boost::asio::use_awaitable);
    struct release {
        code_runner_state& s;
        ~release() { s.lock.try_receive([](boost::system::error_code) {}); }
    } guard{*st};
    if (auto id = st->known_kernel()) co_return *id;  // found while this call waited

    const auto deadline = std::chrono::steady_clock::now() + budget;
    std::string last = "no answer yet";
    boost::asio::steady_timer pause(st->client->executor);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            throw timeout_error("jupyter_timeout", st->operation("run_code") + ": Jupyter at " + st->url +
                                                       " was not available within " + describe_duration(budget) +
                                                       " (last: " + last +
                                                       "); raise run_code_options.jupyter_timeout, or check that "
                                                       "the capsule's template runs Jupyter on port 8888");
        try {
            if (auto id = co_await try_find_kernel(st, left, last)) {
                st->set_kernel(*id);
                co_return *id;
            }
        } catch (const transport_error& e) {
            last = e.what();
        } catch (const timeout_error& e) {
            last = e.what();
        }
        pause.expires_after(std::min<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(500), deadline - std::chrono::steady_clock::now()));
        co_await pause.async_wait(boost::asio::use_awaitable);
    }
}

// After the kernel died, Jupyter restarts it; a request sent before the new
// process is up would be lost. Waits (within `budget`) until its state is
// neither restarting nor starting.
inline boost::asio::awaitable<void> wait_until_restarted(std::shared_ptr<code_runner_state> st, std::string kernel,
                                                         std::chrono::milliseconds budget) {
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + budget;
    // Jupyter may still report the dead kernel's last state for a moment
    // before it starts the restart: "idle" counts once the restart was seen,
    // or after 2 s.
    bool saw_restart = false;
    boost::asio::steady_timer pause(st->client->executor);
    while (std::chrono::steady_clock::now() < deadline) {
        http_request req;
        req.method = http_method::get;
        req.target = "/api/kernels/" + protocol::encode_component(kernel);
        req.idempotent = true;
        req.total_timeout = std::chrono::seconds(10);
        auto r = co_await send(st->transport(), std::move(req));
        if (r.status != 200 && r.status < 500) co_return;  // gone: the channels request will say so
        if (r.status == 200) {
            auto state = protocol::jupyter::kernel_state(r.body);
            if (state == "restarting" || state == "starting")
                saw_restart = true;
            else if (saw_restart || std::chrono::steady_clock::now() - started > std::chrono::seconds(2))
                co_return;
        }
        pause.expires_after(std::chrono::milliseconds(100));
        co_await pause.async_wait(boost::asio::use_awaitable);
    }
}

inline boost::asio::awaitable<void> interrupt_kernel(std::shared_ptr<code_runner_state> st, std::string kernel) {
    http_request req;
    req.method = http_method::post;
    req.target = "/api/kernels/" + protocol::encode_component(kernel) + "/interrupt";
    req.total_timeout = std::chrono::seconds(10);
    auto r = co_await send(st->transport(), std::move(req));
    if (r.status >= 400)
        protocol::throw_http_error(r.status, r.body, r.retry_after, {st->operation("interrupt"), false});
}

struct run_code_callbacks {
    callback_view<const result&>::function on_result;
    output_callback::function on_stdout, on_stderr;
    callback_view<const execution_error&>::function on_error;
};

inline boost::asio::awaitable<execution> run_code(std::shared_ptr<code_runner_state> st, std::string code,
                                                  std::optional<std::chrono::milliseconds> timeout,
                                                  std::chrono::milliseconds jupyter_timeout, run_code_callbacks cb) {
    using namespace boost::asio::experimental::awaitable_operators;
    const std::string op = st->operation("run_code");
    auto kernel = co_await ensure_kernel(st, jupyter_timeout);
    if (st->kernel_restarting) {
        co_await wait_until_restarted(st, kernel, jupyter_timeout);
        st->kernel_restarting = false;
    }
    auto channels = [&] { return "/api/kernels/" + protocol::encode_component(kernel) + "/channels"; };
    std::shared_ptr<ws_connection> ws;
    bool kernel_gone = false;
    try {
        ws = co_await open_websocket(st->transport(), channels(), op);
    } catch (const not_found_error&) {
        kernel_gone = true;  // deleted or died since it was found: find or start it again
    }
    if (kernel_gone) {
        st->forget_kernel(kernel);
        kernel = co_await ensure_kernel(st, jupyter_timeout);
        ws = co_await open_websocket(st->transport(), channels(), op);
    }

    std::string msg_id;
    auto send_cell = [&]() -> boost::asio::awaitable<void> {
        msg_id = protocol::jupyter::random_uuid4();
        co_await ws_send(ws, protocol::jupyter::execute_request(code, msg_id, protocol::jupyter::random_uuid4(),
                                                                std::chrono::system_clock::now()));
    };
    co_await send_cell();
    execution ex;
    protocol::jupyter::cell_progress progress;
    // A cell the kernel aborted unrun (another cell's error just before it,
    // stop_on_error) is sent again, up to this many sends in all.
    constexpr int max_sends = 4;
    int sends = 1;
    bool finished = false, ended = false, quiet = false;
    std::exception_ptr failure;
    // Catches its own failure: `||` waits for the first branch that succeeds.
    auto read_cell = [&]() -> boost::asio::awaitable<void> {
        try {
            while (!finished) {
                auto text = co_await ws_receive(ws);
                if (!text) {
                    ended = true;
                    break;
                }
                auto ev = protocol::jupyter::parse_kernel_message(*text, msg_id);
                if (!ev) continue;
                protocol::jupyter::apply(ex, *ev);
                auto step = protocol::jupyter::advance(progress, *ev);
                if (step == protocol::jupyter::cell_step::aborted) {
                    if (sends++ < max_sends) {
                        ex = execution{};
                        progress = {};
                        co_await send_cell();
                        continue;
                    }
                    ex.error = execution_error{"ExecutionAborted",
                                               "the kernel skipped the cell, unrun, because another cell failed just "
                                               "before it (Jupyter's stop_on_error), " +
                                                   std::to_string(max_sends) + " times; it is safe to run it again",
                                               ""};
                    step = protocol::jupyter::cell_step::finished;
                }
                finished = step == protocol::jupyter::cell_step::finished;
                if (ev->type == protocol::jupyter::kernel_event::kind::kernel_died) st->kernel_restarting = true;
                if (quiet) continue;
                using kind = protocol::jupyter::kernel_event::kind;
                switch (ev->type) {
                case kind::stdout_text: if (cb.on_stdout) cb.on_stdout(ev->text); break;
                case kind::stderr_text: if (cb.on_stderr) cb.on_stderr(ev->text); break;
                case kind::result: if (cb.on_result) cb.on_result(*ev->value); break;
                case kind::error: if (cb.on_error) cb.on_error(*ev->error); break;
                default: break;
                }
            }
        } catch (...) {
            if (!failure) failure = std::current_exception();
        }
    };
    // Reads until the cell is finished; false when `limit` passed first.
    auto read_within = [&](std::chrono::milliseconds limit) -> boost::asio::awaitable<bool> {
        boost::asio::steady_timer timer(st->client->executor, limit);
        auto winner = co_await (read_cell() || timer.async_wait(boost::asio::use_awaitable));
        co_return winner.index() == 0;
    };
    bool timed_out = false, cancelled = false;
    try {
        if (timeout) timed_out = !co_await read_within(*timeout);
        else co_await read_cell();
    } catch (...) {
        cancelled = true;  // from outside
        if (!failure) failure = std::current_exception();
    }
    if (timed_out) failure = nullptr;  // only the cancellation the timer caused
    if (!finished) {
        // The cell is still running: interrupt it so later cells do not
        // queue behind it (also when this call was cancelled). Unless
        // cancelled, also wait (briefly) for its end: until the kernel has
        // finished it, a new request would be aborted with it (stop_on_error).
        co_await boost::asio::this_coro::reset_cancellation_state();
        try {
            co_await interrupt_kernel(st, kernel);
            if (!cancelled && !ended) {
                quiet = true;  // the caller has stopped listening; the execution still records it
                auto before = failure;
                co_await read_within(std::chrono::seconds(5));
                failure = before;
            }
        } catch (...) {
        }
    }
    ws_close(ws);
    if (failure) std::rethrow_exception(failure);
    if (timed_out) {
        ex.timed_out = true;
        co_return ex;
    }
    if (ended)
        throw transport_error("kernel_connection_closed",
                              op + ": the kernel's connection closed before the cell finished (did Jupyter or the "
                                   "capsule stop?); an interrupt was sent to the kernel");
    co_return ex;
}

WRENN_DECL asio::awaitable<void> with_code_runner_block(asio::awaitable<code_runner> creating,
                                                       scoped_block<code_runner> body) {
    return with_capsule_impl(std::move(creating), std::move(body));
}

} // namespace detail

WRENN_DECL std::string decode_binary(std::string_view base64_text) {
    auto bytes = protocol::base64_decode_wrapped(base64_text);
    if (!bytes)
        throw protocol_error("invalid_base64", "decode_binary: the text is not base64 (" +
                                                   std::to_string(base64_text.size()) + " characters)");
    return std::move(*bytes);
}

WRENN_DECL code_runner::code_runner(capsule cap, std::string kernel)
    : capsule(std::move(cap)),
      st_(std::make_shared<detail::code_runner_state>(detail::client_access::impl(owner_client()), id(), std::move(kernel))) {}

WRENN_DECL boost::asio::awaitable<code_runner> code_runner::create(const client& c, code_runner_options opts) {
    create_options co;
    co.template_name = opts.template_name.empty() ? default_code_runner_template : opts.template_name;
    co.vcpus = opts.vcpus;
    co.memory_mb = opts.memory_mb;
    co.timeout_sec = opts.timeout_sec;
    co.wait = opts.wait;
    co.wait_for = opts.wait_for;
    auto creating = capsule::create(c, co);
    std::string kernel(opts.kernel.empty() ? default_kernel : opts.kernel);
    return [](boost::asio::awaitable<capsule> creating, std::string kernel) -> boost::asio::awaitable<code_runner> {
        co_return code_runner(co_await std::move(creating), std::move(kernel));
    }(std::move(creating), std::move(kernel));
}

WRENN_DECL boost::asio::awaitable<code_runner> code_runner::connect(const client& c, std::string capsule_id,
                                                                    std::string kernel) {
    if (kernel.empty()) kernel = std::string(default_kernel);
    auto connecting = capsule::connect(c, std::move(capsule_id));
    return [](boost::asio::awaitable<capsule> connecting, std::string kernel) -> boost::asio::awaitable<code_runner> {
        co_return code_runner(co_await std::move(connecting), std::move(kernel));
    }(std::move(connecting), std::move(kernel));
}

WRENN_DECL boost::asio::awaitable<execution> code_runner::run_code(std::string code, run_code_options opts) const {
    if (opts.timeout && opts.timeout->count() <= 0)
        throw usage_error("invalid_timeout", st_->operation("run_code") +
                                                 ": run_code_options.timeout must be positive (nullopt: no deadline)");
    if (opts.jupyter_timeout.count() <= 0)
        throw usage_error("invalid_timeout",
                          st_->operation("run_code") + ": run_code_options.jupyter_timeout must be positive");
    detail::run_code_callbacks cb{opts.on_result.to_function(), opts.on_stdout.to_function(),
                                  opts.on_stderr.to_function(), opts.on_error.to_function()};
    return detail::run_code(st_, std::move(code), opts.timeout, opts.jupyter_timeout, std::move(cb));
}

WRENN_DECL boost::asio::awaitable<void> code_runner::interrupt() const {
    return [](std::shared_ptr<detail::code_runner_state> st) -> boost::asio::awaitable<void> {
        if (auto id = st->known_kernel()) co_await detail::interrupt_kernel(st, *id);
    }(st_);
}

WRENN_DECL const std::string& code_runner::kernel_name() const noexcept { return st_->kernel_name; }
WRENN_DECL std::optional<std::string> code_runner::kernel_id() const { return st_->known_kernel(); }
WRENN_DECL const std::string& code_runner::jupyter_url() const noexcept { return st_->url; }

} // namespace wrenn
