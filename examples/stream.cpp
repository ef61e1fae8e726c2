// A live build log: runs a (pretend) build in a capsule and prints each line
// as the build produces it, stderr lines as warnings, then the exit code.
#include <wrenn/wrenn.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>
#include <string>

namespace asio = boost::asio;

// The build: steps with pauses, so that the log visibly arrives live.
constexpr std::string_view build_script = R"(set -e
echo "[1/3] configure"; sleep 0.3
echo "[2/3] compile main.c"
echo "main.c:12: unused variable 'tmp'" >&2; sleep 0.3
echo "[3/3] link app"; sleep 0.3
echo "built ./app"
)";

// Output arrives in chunks, not lines: print the complete lines (each with
// `prefix`), keep the rest in `partial` until the next chunk.
void print_lines(std::ostream& out, std::string_view prefix, std::string& partial, std::string_view chunk) {
    partial += chunk;
    for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n')) {
        out << prefix << std::string_view(partial).substr(0, nl + 1) << std::flush;
        partial.erase(0, nl + 1);
    }
}

asio::awaitable<int> build(wrenn::client client) {
    co_return co_await wrenn::with_capsule(client, {.wait = true}, [](wrenn::capsule& cap) -> asio::awaitable<int> {
        co_await cap.files.write("/tmp/build.sh", build_script);
        auto s = co_await cap.commands.stream("sh", {.args = {"/tmp/build.sh"}});
        std::string out, err;  // partial lines
        while (auto ev = co_await s.next()) {
            if (ev->is_stdout()) print_lines(std::cout, "", out, ev->data);
            if (ev->is_stderr()) print_lines(std::cerr, "warning: ", err, ev->data);
            if (ev->is_error()) std::cerr << "stream error: " << ev->data << "\n";
        }
        if (!out.empty()) print_lines(std::cout, "", out, "\n");  // a last line without its newline
        if (!err.empty()) print_lines(std::cerr, "warning: ", err, "\n");
        int code = s.exit_code().value_or(-1);  // no exit code: the stream ended with an error
        std::cout << "build " << (code == 0 ? "succeeded" : "failed") << " (exit code " << code << ")\n";
        co_return code == 0 ? 0 : 1;
    });
}

int main() {
    asio::io_context ioc;
    int status = 1;
    try {
        wrenn::client client(ioc);
        asio::co_spawn(client.get_executor(), build(client), [&](std::exception_ptr e, int code) {
            status = code;
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                std::cerr << ex.what() << "\n";
                status = 1;
            }
        });
        ioc.run();
    } catch (const wrenn::error& e) {  // e.g. no API key configured
        std::cerr << e.what() << "\n";
    }
    return status;
}
