// An interactive terminal in a capsule, like `ssh`: your keys go to a shell
// running on a PTY in the capsule, its output comes back to your screen, and
// resizing your window resizes the remote terminal.
//
//     shell               creates a capsule; destroys it when the shell exits
//     shell CAPSULE_ID    opens a shell in an existing capsule (kept)
//
// Every key goes to the remote shell, Ctrl-C included: leave with `exit`
// (or Ctrl-D). Exits with the remote shell's exit code. Reads WRENN_API_KEY
// and WRENN_BASE_URL like any wrenn program.
#include <wrenn/wrenn.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <system_error>

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

struct window_size {
    unsigned cols = 80;
    unsigned rows = 24;
};

// The local terminal's size; 80x24 when stdin is not a terminal.
window_size local_size() {
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) return {ws.ws_col, ws.ws_row};
    return {};
}

// Raw mode for the local terminal while the session runs: no line editing,
// no local echo, no signals from keys. Every byte, Ctrl-C and Ctrl-D
// included, goes to the remote terminal, which does all of that itself.
// The destructor restores the terminal, also when an exception unwinds, and
// stdin's file flags: Asio makes the descriptor it reads non-blocking, and a
// dup shares that flag with fd 0 (and with the shell that started us).
class raw_mode {
public:
    raw_mode() : flags_(::fcntl(STDIN_FILENO, F_GETFL)) {
        if (::tcgetattr(STDIN_FILENO, &saved_) != 0) return;  // not a terminal
        termios raw = saved_;
        ::cfmakeraw(&raw);
        active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    ~raw_mode() {
        if (active_) ::tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_);
        if (flags_ != -1) ::fcntl(STDIN_FILENO, F_SETFL, flags_);
    }
    raw_mode(const raw_mode&) = delete;
    raw_mode& operator=(const raw_mode&) = delete;

private:
    termios saved_{};
    bool active_ = false;
    int flags_;
};

// Writes all of `bytes` to stdout (a terminal, a pipe or a file). Blocking
// is fine: there is nothing better to do while the screen catches up. But
// stdout often shares stdin's open file, hence its non-blocking flag: then
// wait until it takes more.
void write_stdout(std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(STDOUT_FILENO, bytes.data(), bytes.size());
        if (n >= 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            pollfd p{STDOUT_FILENO, POLLOUT, 0};
            ::poll(&p, 1, -1);
        } else if (errno != EINTR) {
            throw std::system_error(errno, std::generic_category(), "writing to stdout");
        }
    }
}

// What the three loops below share. The loop that ends the session sets
// `status`, this program's exit status, and `why` when there is something
// to say (printed once the terminal is back to normal).
struct session {
    wrenn::pty_session term;
    int status = 1;
    std::string why;
};

// Remote output → local screen, until the remote shell exits.
asio::awaitable<void> show_output(session& s) {
    while (auto ev = co_await s.term.next()) {
        if (ev->is_output()) write_stdout(ev->data);  // raw terminal bytes, escape sequences and all
        if (ev->is_error()) s.why = "terminal error: " + ev->data;
        if (ev->is_exit()) {
            // -1 means killed by a signal (the server does not say which).
            s.status = ev->exit_code >= 0 ? ev->exit_code : 255;
            if (ev->exit_code < 0) s.why = "the remote shell was killed";
            co_return;
        }
    }
    // next() gave nullopt: a fatal error event ended the session.
}

// Local keys → remote terminal. At EOF on stdin (the local terminal is gone,
// or the input was a pipe that ended) nobody can drive the shell any more,
// so kill it. Sending "exit\n" instead would be gentler, but would never end
// a program that does not read lines (an editor, `cat > file`...).
asio::awaitable<void> forward_input(session& s) {
    asio::posix::stream_descriptor in(co_await asio::this_coro::executor, ::dup(STDIN_FILENO));
    char buf[4096];
    for (;;) {
        auto [ec, n] = co_await in.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::eof) break;
        if (ec) throw boost::system::system_error(ec, "reading stdin");
        co_await s.term.write(std::string_view(buf, n));
    }
    co_await s.term.kill();
    s.status = 255;
    s.why = "stdin closed: the remote shell was killed";
}

// SIGWINCH: the local window changed size, so resize the remote terminal
// (its programs get their own SIGWINCH). Any other signal in the set ends
// the session: with the keyboard in raw mode they can only come from `kill`
// or a terminal window that closed.
asio::awaitable<void> handle_signals(session& s, asio::signal_set& signals) {
    for (;;) {
        int sig = co_await signals.async_wait(asio::use_awaitable);
        if (sig == SIGWINCH) {
            auto size = local_size();
            co_await s.term.resize(size.cols, size.rows);
            continue;
        }
        co_await s.term.kill();
        s.status = 128 + sig;
        s.why = "signal " + std::to_string(sig) + " (" + ::strsignal(sig) + "): the remote shell was killed";
        co_return;
    }
}

// Opens the terminal and runs the three loops until the first one ends;
// returns the exit status.
asio::awaitable<int> run_terminal(const wrenn::capsule& cap) {
    const char* local_term = std::getenv("TERM");
    const std::string term_name = local_term && *local_term ? local_term : "xterm-256color";
    const wrenn::env_var env[] = {{"TERM", term_name}};
    const auto size = local_size();
    session s;
    s.term = co_await cap.pty({.cols = size.cols, .rows = size.rows, .envs = env});

    // Take over these signals before entering raw mode, so that none of them
    // can kill the program with the terminal still raw.
    asio::signal_set signals(co_await asio::this_coro::executor, SIGWINCH, SIGHUP, SIGINT);
    signals.add(SIGTERM);
    signals.add(SIGQUIT);
    {
        raw_mode raw;
        // `||` runs the loops concurrently; when one finishes, the others are
        // cancelled (cancelling next() or a read is safe) and it returns.
        co_await (show_output(s) || forward_input(s) || handle_signals(s, signals));
    }  // the local terminal is restored here, before any message is printed
    if (!s.why.empty()) std::cerr << "shell: " << s.why << "\n";
    co_return s.status;
}

asio::awaitable<wrenn::capsule> open_capsule(wrenn::client client, std::string id) {
    if (!id.empty()) co_return co_await wrenn::capsule::connect(client, id);
    auto cap = co_await wrenn::capsule::create(client, {.wait = true});
    std::cerr << "shell: capsule " << cap.id() << " (destroyed when the shell exits)\n";
    co_return cap;
}

asio::awaitable<int> shell(wrenn::client client, std::string capsule_id) {
    const bool created = capsule_id.empty();
    auto cap = co_await open_capsule(client, capsule_id);
    // No co_await inside a catch block: keep the failure, clean up, rethrow.
    int status = 1;
    std::exception_ptr failure;
    try {
        status = co_await run_terminal(cap);
    } catch (...) {
        failure = std::current_exception();
    }
    if (created) co_await cap.destroy();
    if (failure) std::rethrow_exception(failure);
    co_return status;
}

} // namespace

int main(int argc, char** argv) {
    // A closed stdout should be an error we report (EPIPE), not a silent
    // death by SIGPIPE that leaves the terminal raw.
    std::signal(SIGPIPE, SIG_IGN);
    asio::io_context io;  // one thread: the loops never run at the same time
    int status = 1;
    try {
        wrenn::client client(io);
        std::string capsule_id = argc > 1 ? argv[1] : "";
        asio::co_spawn(client.get_executor(), shell(client, capsule_id), [&](std::exception_ptr e, int code) {
            if (!e) {
                status = code;
                return;
            }
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                std::cerr << "shell: " << ex.what() << "\n";
            }
        });
        io.run();
    } catch (const wrenn::error& e) {  // e.g. no API key configured
        std::cerr << "shell: " << e.what() << "\n";
    }
    return status;
}
