// The code runner: a capsule whose template runs a Jupyter server, and
// run_code() to execute cells in one persistent kernel (WIRE.md §13). State
// (variables, imports, definitions) persists across run_code calls. The
// kernel is reached through the capsule proxy (get_url(8888)); everything a
// plain capsule has (commands, files, git, pty) works here too.
#pragma once

#include <wrenn/capsule.hpp>
#include <wrenn/execution.hpp>
#include <wrenn/output_callback.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace wrenn {

namespace detail {
struct code_runner_state;
}

inline constexpr std::string_view default_code_runner_template = "code-runner-beta";
inline constexpr std::string_view default_kernel = "wrenn";
inline constexpr unsigned jupyter_port = 8888;

// Options are views, consumed before create() returns (see env.hpp).
struct code_runner_options {
    std::string_view template_name = default_code_runner_template;
    std::string_view kernel = default_kernel;  // the Jupyter kernelspec to find or start
    std::optional<int> vcpus{};
    std::optional<int> memory_mb{};
    std::optional<int> timeout_sec{};  // inactivity before auto-pause; 0 = never
    bool wait = false;                 // wait_ready() before returning
    wait_options wait_for{};
};
static_assert(std::is_trivially_destructible_v<code_runner_options>, "options must stay views (see env.hpp)");

struct run_code_options {
    // Informational, as in the Python SDK: the kernel decides the language.
    std::string_view language = "python";
    // The cell's deadline from the moment it is sent. When it passes, the
    // execution comes back with timed_out set and what arrived so far, and
    // the kernel is interrupted so the next cell runs at once. nullopt: none.
    std::optional<std::chrono::milliseconds> timeout = std::chrono::seconds(30);
    // How long Jupyter may take to become reachable (it starts with the
    // capsule): 5xx answers and connection failures are retried until then.
    std::chrono::milliseconds jupyter_timeout = std::chrono::seconds(30);
    // Called as the cell produces output, before run_code returns. A callback
    // that throws ends the run: the kernel is interrupted and the exception
    // propagates.
    callback_view<const result&> on_result{};
    output_callback on_stdout{};
    output_callback on_stderr{};
    callback_view<const execution_error&> on_error{};
};
static_assert(std::is_trivially_destructible_v<run_code_options>, "options must stay views (see env.hpp)");

// The bytes of a result's base64 field (png, jpeg, gif, pdf); Jupyter wraps
// base64 in lines. protocol_error when the text is not base64.
WRENN_DECL std::string decode_binary(std::string_view base64_text);

class code_runner : public capsule {
public:
    // Creates a capsule from `template_name` (default code-runner-beta).
    static boost::asio::awaitable<code_runner> create(const client& c, code_runner_options opts = {});
    template <class CompletionToken>
    static auto create(const client& c, code_runner_options opts, CompletionToken&& token) {
        return detail::complete_with(c.get_executor(), create(c, std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    // Binds to an existing code-runner capsule (resumed when paused).
    static boost::asio::awaitable<code_runner> connect(const client& c, std::string capsule_id,
                                                       std::string kernel = std::string(default_kernel));
    template <class CompletionToken>
    static auto connect(const client& c, std::string capsule_id, std::string kernel, CompletionToken&& token) {
        return detail::complete_with(c.get_executor(), connect(c, std::move(capsule_id), std::move(kernel)),
                                     std::forward<CompletionToken>(token));
    }

    explicit code_runner(capsule cap, std::string kernel = std::string(default_kernel));
    code_runner() = default;  // empty, like capsule()

    // Runs `code` as one cell and returns what it produced. An exception
    // inside the cell does not throw: it is execution::error. Throws
    // timeout_error when Jupyter is not reachable within jupyter_timeout,
    // the mapped wrenn::error at once for a 4xx (e.g. an unknown kernelspec),
    // transport_error when the kernel connection drops mid-cell.
    boost::asio::awaitable<execution> run_code(std::string code, run_code_options opts = {}) const;
    template <class CompletionToken>
    auto run_code(std::string code, run_code_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), run_code(std::move(code), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }

    // Interrupts whatever the kernel is running (SIGINT, KeyboardInterrupt
    // in Python). A no-op before the kernel is known.
    boost::asio::awaitable<void> interrupt() const;
    template <class CompletionToken>
    auto interrupt(CompletionToken&& token) const {
        return detail::complete_with(get_executor(), interrupt(),
                                     std::forward<CompletionToken>(token));
    }

    const std::string& kernel_name() const noexcept;
    // The Jupyter kernel's id once the first run_code found or started it.
    std::optional<std::string> kernel_id() const;
    // `http(s)://8888-{id}.{proxy_domain}`: where the SDK reaches Jupyter.
    const std::string& jupyter_url() const noexcept;

private:
    std::shared_ptr<detail::code_runner_state> st_;
};

namespace detail {
WRENN_DECL boost::asio::awaitable<void> with_code_runner_block(boost::asio::awaitable<code_runner> creating,
                                                              scoped_block<code_runner> body);
}

// The scoped form: creates a code runner, runs `body` with it and destroys
// it afterwards, also when `body` throws.
template <class F>
auto with_code_runner(const client& c, code_runner_options opts, F body)
    -> decltype(body(std::declval<code_runner&>())) {
    if constexpr (detail::is_awaitable_void<decltype(body(std::declval<code_runner&>()))>)
        return detail::with_code_runner_block(code_runner::create(c, opts),
                                              detail::scoped_block<code_runner>(std::move(body)));
    else
        return detail::with_capsule_impl(code_runner::create(c, opts), std::move(body));
}

} // namespace wrenn

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/code_runner.ipp>
#endif
