// Fuzz target: the WebSocket messages of process streams and terminals
// (protocol/stream_messages.hpp) and the in-band error texts.
//
// Input: one text frame, fed to every decoder.
#include "fuzz_common.hpp"

#include <wrenn/protocol/stream_messages.hpp>

#include <cstddef>
#include <cstdint>

using namespace wrenn::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);

    fuzz::expect_wrenn_error_only([&] {
        if (auto e = parse_stream_message(text)) {
            if (e->is_exit()) fuzz::check(e->is_final(), "exit is not final");
        }
    });
    fuzz::expect_wrenn_error_only([&] {
        if (auto e = parse_pty_message(text)) {
            if (e->is_exit()) fuzz::check(e->is_final(), "exit is not final");
        }
    });
    fuzz::check_is_wrenn_error(make_stream_error(text, "commands.stream"));
    fuzz::check_is_wrenn_error(make_stream_error(text, {}));
    return 0;
}
