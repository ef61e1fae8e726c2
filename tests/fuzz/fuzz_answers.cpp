// Fuzz target: the HTTP answer decoders (protocol/answers.hpp) — every JSON
// model, the error envelope and the Retry-After header.
//
// Input: two bytes of HTTP status (big-endian, used by make_http_error and
// decode_snapshot_created), one flag byte, then the body.
//
// The capsule decoders read the bytes with a SAX parser
// (impl/capsule_decoder.hpp); they are also checked against the DOM path they
// replaced: the same outcome and the same capsules, member by member.
#include "fuzz_common.hpp"

#include <wrenn/protocol/answers.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value_to.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

using namespace wrenn::protocol;

namespace {

// What a capsule decoder gave: the capsules (one for decode_capsule), or the
// code of the protocol_error it threw.
struct capsule_outcome {
    std::string code{};  // empty when decoded
    std::vector<wrenn::capsule_info> value{};
};

// The reference: json::value_to<capsule_info> of json::parse(body), with the
// checks decode_capsule and decode_capsule_list made on the DOM.
capsule_outcome dom_capsules(std::string_view body, bool list) {
    namespace json = boost::json;
    json::error_code ec;
    auto v = json::parse(body, ec);
    if (ec) return {"invalid_json", {}};
    capsule_outcome o;
    if (list) {
        if (!v.is_array()) return {"unexpected_answer", {}};
        for (auto& e : v.get_array()) o.value.push_back(json::value_to<wrenn::capsule_info>(e));
    } else {
        if (!v.is_object()) return {"unexpected_answer", {}};
        o.value.push_back(json::value_to<wrenn::capsule_info>(v));
        if (o.value.front().id.empty()) return {"unexpected_answer", {}};
    }
    return o;
}

capsule_outcome sax_capsules(std::string_view body, bool list) {
    capsule_outcome o;
    try {
        if (list) o.value = decode_capsule_list(body);
        else o.value.push_back(decode_capsule(body));
    } catch (const wrenn::error& e) {
        fuzz::check(typeid(e) == typeid(wrenn::protocol_error), "a capsule decoder threw another wrenn::error than protocol_error");
        fuzz::check(!e.code().empty(), "a capsule decoder threw a protocol_error without a code");
        o.code = e.code();
        o.value.clear();
    }
    return o;
}

// The first member of capsule_info that differs, or nullptr.
const char* capsule_difference(const wrenn::capsule_info& a, const wrenn::capsule_info& b) {
    if (a.id != b.id) return "id";
    if (a.status.raw != b.status.raw) return "status.raw";
    if (a.status.state != b.status.state) return "status.state";
    if (a.template_name != b.template_name) return "template_name";
    if (a.vcpus != b.vcpus) return "vcpus";
    if (a.memory_mb != b.memory_mb) return "memory_mb";
    if (a.timeout_sec != b.timeout_sec) return "timeout_sec";
    if (a.created_at != b.created_at) return "created_at";
    if (a.started_at != b.started_at) return "started_at";
    if (a.last_active_at != b.last_active_at) return "last_active_at";
    if (a.last_updated != b.last_updated) return "last_updated";
    if (a.metadata != b.metadata) return "metadata";
    if (a.guest_ip != b.guest_ip) return "guest_ip";
    if (a.host_ip != b.host_ip) return "host_ip";
    if (a.disk_size_mb != b.disk_size_mb) return "disk_size_mb";
    if (a.disk_used_mb != b.disk_used_mb) return "disk_used_mb";
    return nullptr;
}

// decode_capsule (or decode_capsule_list) gives what the DOM path gave.
void check_capsules_like_dom(std::string_view body, bool list) {
    const char* what = list ? "decode_capsule_list" : "decode_capsule";
    auto sax = sax_capsules(body, list);
    auto dom = dom_capsules(body, list);
    if (sax.code != dom.code || sax.value.size() != dom.value.size()) {
        std::fprintf(stderr, "%s: SAX gave %s (%zu capsules), the DOM %s (%zu capsules)\n", what,
                     sax.code.empty() ? "a value" : sax.code.c_str(), sax.value.size(),
                     dom.code.empty() ? "a value" : dom.code.c_str(), dom.value.size());
        fuzz::check(false, "a capsule decoder's outcome differs from the DOM reference");
    }
    for (std::size_t i = 0; i < sax.value.size(); ++i) {
        if (auto member = capsule_difference(sax.value[i], dom.value[i])) {
            std::fprintf(stderr, "%s: capsule %zu: %s differs from the DOM reference\n", what, i, member);
            fuzz::check(false, "a capsule decoder's capsule differs from the DOM reference");
        }
    }
}

} // namespace

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
    check_capsules_like_dom(body, false);
    check_capsules_like_dom(body, true);
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
