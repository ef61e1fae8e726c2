// Fuzz target: the HTTP answer decoders (protocol/answers.hpp) — every JSON
// model, the error envelope and the Retry-After header.
//
// Input: two bytes of HTTP status (big-endian, used by make_http_error and
// decode_snapshot_created), one flag byte, then the body.
#include "fuzz_common.hpp"

#include <wrenn/protocol/answers.hpp>

#include <cstddef>
#include <cstdint>

using namespace wrenn::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const unsigned status = (unsigned(data[0]) << 8 | data[1]) % 1000;
    const std::uint8_t flags = data[2];
    const std::string_view body = fuzz::as_text(data + 3, size - 3);

    // The error envelope: always an exception, always a wrenn::error.
    std::optional<std::chrono::seconds> retry;
    if (flags & 1) retry = std::chrono::seconds(flags);
    error_context ctx{(flags & 2) ? std::string_view("files.read('/x')") : std::string_view{}, (flags & 4) != 0};
    fuzz::check_is_wrenn_error(make_http_error(status, body, retry, ctx));
    try {
        throw_http_error(status, body, retry, ctx);
    } catch (const wrenn::error&) {
    }

    if (auto s = parse_retry_after(body)) fuzz::check(s->count() >= 0, "negative Retry-After");
    (void)says_missing_path(body);

    // The success bodies: a model or a wrenn::error.
    fuzz::expect_wrenn_error_only([&] { (void)parse_body(body, "fuzz"); });
    fuzz::expect_wrenn_error_only([&] {
        auto c = decode_capsule(body);
        fuzz::check(!c.id.empty(), "decode_capsule returned a capsule without id");
    });
    fuzz::expect_wrenn_error_only([&] { (void)decode_capsule_list(body); });
    fuzz::expect_wrenn_error_only([&] { (void)decode_template(body); });
    fuzz::expect_wrenn_error_only([&] { (void)decode_template_list(body); });
    fuzz::expect_wrenn_error_only([&] { (void)decode_metrics(body); });
    fuzz::expect_wrenn_error_only([&] { (void)decode_team_stats(body); });
    fuzz::expect_wrenn_error_only([&] { (void)decode_team_usage(body); });
    fuzz::expect_wrenn_error_only([&] { (void)decode_exec_result(body); });
    fuzz::expect_wrenn_error_only([&] { (void)decode_command_handle(body); });
    fuzz::expect_wrenn_error_only([&] { (void)decode_process_list(body); });
    fuzz::expect_wrenn_error_only([&] { (void)decode_file_list(body); });
    fuzz::expect_wrenn_error_only([&] { (void)decode_make_dir(body); });
    fuzz::expect_wrenn_error_only([&] {
        auto r = decode_snapshot_created(status, body, "requested");
        fuzz::check(r.capsule.has_value() != r.snapshot.has_value(), "snapshot_result is neither or both");
    });
    return 0;
}
