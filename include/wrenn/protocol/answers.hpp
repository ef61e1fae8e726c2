// Decoding the server's HTTP answers, sans-I/O: the error envelope into the
// typed exception (WIRE.md §1.6) and each success body into its model.
// Every function takes the status and the raw body and either returns the
// model or throws a wrenn::error subclass.
#pragma once

#include <wrenn/detail/config.hpp>
#include <wrenn/models.hpp>

#include <chrono>
#include <exception>
#include <map>
#include <string>
#include <optional>
#include <string_view>
#include <vector>

namespace wrenn::protocol {

// Parses a Retry-After header value (delta seconds; HTTP dates are not used
// by the server). nullopt when absent or unparsable.
WRENN_DECL std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

// What the failed call was about, to make its error say so.
struct error_context {
    std::string_view operation{};  // e.g. "files.read('/app/x')": prefixed to the message
    // A file operation: the server's 502 for a missing path (WIRE.md §16.2)
    // becomes not_found_error.
    bool path_operation = false;
    std::string_view request_id{};  // the answer's X-Request-ID header, when it had one
};

// An error answer's body, read by both server generations' rules:
// {"error":{"code","message"}} (v0.1.5) plus "request_id", "retryable" and
// "details" (API 0.4.0); the capsule ids of has_active_sandboxes wherever a
// server put them. Fields the body lacks stay empty; a body that is not JSON
// leaves `json` false.
struct error_envelope {
    bool json = false;
    std::string code, message, request_id;
    std::optional<bool> retryable;
    std::map<std::string, std::string> details;  // values that are not strings as their JSON text
    std::vector<std::string> capsule_ids;
};
WRENN_DECL error_envelope read_error_envelope(std::string_view body);

// Builds the exception for a >= 400 answer: by error code first, then by
// HTTP status; non-JSON bodies become internal_error (or the status class).
WRENN_DECL std::exception_ptr make_http_error(unsigned status, std::string_view body,
                                             std::optional<std::chrono::seconds> retry_after = {},
                                             error_context ctx = {});

[[noreturn]] WRENN_DECL void throw_http_error(unsigned status, std::string_view body,
                                              std::optional<std::chrono::seconds> retry_after = {},
                                              error_context ctx = {});

// Whether a server message says a path does not exist.
WRENN_DECL bool says_missing_path(std::string_view message);

// Parses a JSON body (trailing whitespace allowed) into `storage` (the
// default heap when null); throws protocol_error naming `what` on malformed
// JSON.
WRENN_DECL boost::json::value parse_body(std::string_view body, std::string_view what,
                                         boost::json::storage_ptr storage = {});

WRENN_DECL capsule_info decode_capsule(std::string_view body);
WRENN_DECL std::vector<capsule_info> decode_capsule_list(std::string_view body);
WRENN_DECL template_info decode_template(std::string_view body);
WRENN_DECL std::vector<template_info> decode_template_list(std::string_view body);
// GET /v1/snapshots of either generation: a page object (API 0.4.0) or an
// array (older servers: one page holding everything).
WRENN_DECL template_page decode_template_page(std::string_view body);
WRENN_DECL capsule_metrics decode_metrics(std::string_view body);
WRENN_DECL team_stats decode_team_stats(std::string_view body);
WRENN_DECL team_usage decode_team_usage(std::string_view body);
// 201 Template or 202 Capsule (WIRE.md §4.1).
WRENN_DECL snapshot_result decode_snapshot_created(unsigned status, std::string_view body,
                                                   std::string_view requested_name);
// Foreground exec: decodes base64 output when `encoding` says so.
WRENN_DECL exec_result decode_exec_result(std::string_view body);
WRENN_DECL command_handle decode_command_handle(std::string_view body);
WRENN_DECL std::vector<process_info> decode_process_list(std::string_view body);
WRENN_DECL std::vector<file_entry> decode_file_list(std::string_view body);
WRENN_DECL file_entry decode_make_dir(std::string_view body);

// The body of POST /v1/capsules/{id}/exec for commands.run: the user's shell
// string wrapped in /bin/sh -c (WIRE.md §5.1).
WRENN_DECL exec_request shell_exec_request(std::string_view command);

} // namespace wrenn::protocol

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/answers.ipp>
#endif
