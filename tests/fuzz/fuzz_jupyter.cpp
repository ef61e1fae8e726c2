// Fuzz target: the code runner's Jupyter protocol (protocol/jupyter.hpp) —
// kernel messages of the WebSocket, the kernel REST answers, and apply() of
// every decoded event to an execution.
//
// Input: one text frame / REST body. It is decoded for the fixed msg_id
// "fuzz-msg-1" (the seeds answer that request) and for the msg_id the input
// itself names in parent_header (so any mutated message is "ours").
#include "fuzz_common.hpp"

#include <wrenn/protocol/jupyter.hpp>

#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

using namespace wrenn::protocol::jupyter;

namespace {

// parent_header.msg_id of the input, when it is JSON shaped so.
std::string own_msg_id(std::string_view text) {
    boost::json::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) return "no-such-id";
    auto* p = v.get_object().if_contains("parent_header");
    if (!p || !p->is_object()) return "no-such-id";
    auto* id = p->get_object().if_contains("msg_id");
    if (!id || !id->is_string()) return "no-such-id";
    return std::string(id->get_string());
}

void decode_and_apply(std::string_view text, std::string_view msg_id, wrenn::execution& e) {
    fuzz::expect_wrenn_error_only([&] {
        auto ev = parse_kernel_message(text, msg_id);
        if (!ev) return;
        bool finished = apply(e, *ev);
        fuzz::check(finished == (ev->type == kernel_event::kind::idle || ev->type == kernel_event::kind::kernel_died),
                    "apply() finished for an event that is not idle or kernel_died");
        if (ev->type == kernel_event::kind::kernel_died)
            fuzz::check(e.error.has_value(), "kernel_died left no error");
        if (ev->type == kernel_event::kind::result) fuzz::check(ev->value.has_value(), "result without a value");
        cell_progress fresh;
        auto step = advance(fresh, *ev);
        fuzz::check((step == cell_step::aborted) ==
                        (ev->type == kernel_event::kind::reply && ev->reply_status == "aborted"),
                    "advance() aborted for an event that is not an aborted reply");
        fuzz::check((step == cell_step::finished) == (ev->type == kernel_event::kind::kernel_died),
                    "advance() finished a fresh cell on an event that is not kernel_died");
    });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);

    wrenn::execution e;
    decode_and_apply(text, "fuzz-msg-1", e);
    decode_and_apply(text, own_msg_id(text), e);
    decode_and_apply(text, "", e);
    (void)e.text();

    fuzz::expect_wrenn_error_only([&] {
        if (auto id = find_kernel(text, "python3")) fuzz::check(!id->empty(), "find_kernel returned an empty id");
    });
    fuzz::expect_wrenn_error_only([&] {
        fuzz::check(!parse_kernel_id(text).empty(), "parse_kernel_id returned an empty id");
    });
    if (auto names = kernelspec_names(text)) {
        for (std::size_t i = 1; i < names->size(); ++i)
            fuzz::check((*names)[i - 1] <= (*names)[i], "kernelspec_names not sorted");
    }
    (void)kernel_state(text);
    return 0;
}
