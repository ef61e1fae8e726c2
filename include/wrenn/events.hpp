// What the WebSocket endpoints deliver: events of a process stream (exec
// stream and attach, WIRE.md §8.2, §9) and of a terminal session (§11.2).
#pragma once

#include <optional>
#include <string>

namespace wrenn {

// (`stdout`/`stderr` are macros in <cstdio>, hence the _data suffix.)
enum class stream_event_kind { start, stdout_data, stderr_data, exit, error };

struct stream_event {
    stream_event_kind kind = stream_event_kind::start;
    int pid = 0;         // start
    std::string data{};  // stdout_data, stderr_data (text; invalid UTF-8 arrives as U+FFFD), error (message)
    int exit_code = -1;  // exit (-1: killed by a signal)

    bool is_start() const noexcept { return kind == stream_event_kind::start; }
    bool is_stdout() const noexcept { return kind == stream_event_kind::stdout_data; }
    bool is_stderr() const noexcept { return kind == stream_event_kind::stderr_data; }
    bool is_exit() const noexcept { return kind == stream_event_kind::exit; }
    bool is_error() const noexcept { return kind == stream_event_kind::error; }
    // exit and error are the last event of a stream.
    bool is_final() const noexcept { return is_exit() || is_error(); }
};

enum class pty_event_kind { started, output, exit, error };

struct pty_event {
    pty_event_kind kind = pty_event_kind::output;
    std::string tag{};   // started
    int pid = 0;         // started
    std::string data{};  // output: raw terminal bytes; error: message
    int exit_code = -1;  // exit (-1: killed by a signal)
    bool fatal = false;  // error: the session is over

    bool is_started() const noexcept { return kind == pty_event_kind::started; }
    bool is_output() const noexcept { return kind == pty_event_kind::output; }
    bool is_exit() const noexcept { return kind == pty_event_kind::exit; }
    bool is_error() const noexcept { return kind == pty_event_kind::error; }
    bool is_final() const noexcept { return is_exit() || (is_error() && fatal); }
};

} // namespace wrenn
