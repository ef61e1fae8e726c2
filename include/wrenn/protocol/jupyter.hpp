// The code runner's Jupyter protocol, sans-I/O (WIRE.md §13): the kernel REST
// bodies, the execute_request frame of the kernel WebSocket (legacy JSON text
// protocol, no subprotocol), the decoding of the kernel's messages and the
// building of the wrenn::execution they describe.
//
// The I/O layer sends execute_request(...) with a fresh msg_id, feeds every
// text frame to parse_kernel_message(text, msg_id), applies each event to its
// execution, and asks advance(...) whether the cell is over: finished, or
// aborted by the kernel without running (then it sends the cell again).
#pragma once

#include <wrenn/detail/config.hpp>
#include <wrenn/execution.hpp>

#include <boost/json/object.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wrenn::protocol::jupyter {

// ---- ids ----

// A version-4 UUID from 16 random bytes: the version nibble set to 4 and the
// variant bits to 10xx, written as 8-4-4-4-12 lowercase hex digits.
WRENN_DECL std::string format_uuid4(const std::array<std::uint8_t, 16>& random_bytes);

// format_uuid4 of 16 bytes from std::random_device.
WRENN_DECL std::string random_uuid4();

// ---- kernel REST (§13.2) ----

// The answer to GET /api/kernels: the id of the first kernel whose "name" is
// `name`, nullopt when there is none. Entries that are not objects or lack a
// string name or a non-empty string id are skipped. protocol_error when the
// text is not a JSON array.
WRENN_DECL std::optional<std::string> find_kernel(std::string_view kernels_json, std::string_view name);

// The kernelspec names in the answer to GET /api/kernelspecs (the keys of
// its "kernelspecs" object), sorted; nullopt when the text is not shaped so.
WRENN_DECL std::optional<std::vector<std::string>> kernelspec_names(std::string_view kernelspecs_json);

// The execution_state of a kernel model (GET /api/kernels/{id}): "idle",
// "busy", "starting", "restarting", "dead", ...; nullopt when absent.
WRENN_DECL std::optional<std::string> kernel_state(std::string_view kernel_model_json);

// The body of POST /api/kernels: {"name":"<name>"}.
WRENN_DECL std::string create_kernel_body(std::string_view name);

// The id of the kernel model POST /api/kernels answers; protocol_error when
// the text is not a JSON object with a non-empty string "id".
WRENN_DECL std::string parse_kernel_id(std::string_view kernel_model_json);

// ---- kernel WebSocket (§13.3) ----

// The execute_request text frame (channel "shell", username "wrenn-sdk",
// version "5.3", silent false, store_history true, allow_stdin false,
// stop_on_error true). `date` is `now` in UTC as YYYY-MM-DDTHH:MM:SS.000Z.
WRENN_DECL std::string execute_request(std::string_view code, std::string_view msg_id, std::string_view session,
                                       std::chrono::system_clock::time_point now);

// One kernel message, decoded for the request it answers.
struct kernel_event {
    enum class kind {
        stdout_text,  // `stream` named stdout (or without a name)
        stderr_text,  // `stream` named stderr
        result,       // `execute_result` (main) or `display_data`
        error,        // `error`
        idle,         // `status` idle: the cell is finished
        kernel_died,  // `status` restarting or dead, for any request: the kernel process ended
                      // (the cell crashed it, or it was restarted), so the cell will never finish
        started,      // `execute_input`: the kernel began running the cell
        reply,        // `execute_reply` (shell channel), its status in reply_status
        other         // everything else: status busy, clear_output, update_display_data,
                      // comm messages, unknown types
    };
    kind type = kind::other;
    std::string reply_status;                    // reply: "ok", "error", "aborted" ("" when absent)
    std::string text;                            // stdout_text / stderr_text
    std::optional<wrenn::result> value;          // result
    std::optional<wrenn::execution_error> error; // error
    std::optional<int> execution_count;          // execute_result, execute_input, execute_reply (when present)
};

// Decodes one text frame of the kernel WebSocket for the request `msg_id`.
// nullopt when the message is not for this request (its parent_header.msg_id
// differs or is missing; a `status` restarting or dead is for every request) or is not a JSON object shaped enough to tell. The
// type is the top-level "msg_type", falling back to header.msg_type; content
// fields of the wrong type read as absent. Throws protocol_error only when
// the text is not JSON at all.
WRENN_DECL std::optional<kernel_event> parse_kernel_message(std::string_view text, std::string_view msg_id);

// A MIME bundle (the "data" of execute_result / display_data) as a result:
// text/plain→text, text/html→html, text/markdown→markdown, image/svg+xml→svg,
// image/png→png, image/jpeg→jpeg, image/gif→gif, application/pdf→pdf,
// text/latex→latex, application/javascript→javascript (strings; a list of
// strings, nbformat's multi-line form, is joined), application/json→json,
// application/vnd.plotly.v1+json→plotly (any JSON). Every other MIME type,
// and a known text type whose value is not a string, goes to extra.
WRENN_DECL wrenn::result make_result(const boost::json::object& mime_bundle, bool is_main_result);

// Applies an event to the execution being built: log chunks appended in
// order, results appended, the error set, the execution count recorded when
// the event carries one. Returns true when the cell is finished (idle), or
// will never finish (kernel_died: the error becomes DeadKernelError, the
// name nbclient uses).
WRENN_DECL bool apply(wrenn::execution& e, const kernel_event& ev);

// Where a cell stands, from the events seen so far for its request.
struct cell_progress {
    bool ran = false;      // execute_input or any output: the kernel ran the cell
    bool idle = false;     // status idle
    bool replied = false;  // execute_reply
};
enum class cell_step { more, finished, aborted };

// Records `ev` and says what the I/O layer does next. The kernel's status
// idle (iopub) and its execute_reply (shell) travel on different sockets, so
// either may come first. ipykernel aborts, without running it, an
// execute_request that reaches it while it is still aborting the queue after
// another cell's error (stop_on_error): busy, idle and a reply with status
// "aborted", but no execute_input. So: idle after the cell ran is finished;
// idle before any sign of running waits for the reply; a reply "aborted" is
// aborted (nothing ran: safe to send again); kernel_died is finished.
WRENN_DECL cell_step advance(cell_progress& p, const kernel_event& ev);

} // namespace wrenn::protocol::jupyter

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/jupyter.ipp>
#endif
