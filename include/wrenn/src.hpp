// Include this header in exactly one .cpp file of your program, with
// WRENN_SEPARATE_COMPILATION defined for every file that includes a wrenn
// header, to compile the SDK once instead of in every translation unit.
#pragma once

#ifndef WRENN_SEPARATE_COMPILATION
#error "Define WRENN_SEPARATE_COMPILATION (for every TU) to use <wrenn/src.hpp>"
#endif

#include <wrenn/impl/error.ipp>
#include <wrenn/impl/error_code.ipp>
#include <wrenn/impl/url.ipp>
#include <wrenn/impl/config.ipp>
#include <wrenn/impl/base64.ipp>
#include <wrenn/impl/models.ipp>
#include <wrenn/impl/answers.ipp>
#include <wrenn/impl/retry.ipp>
#include <wrenn/impl/capsule_rules.ipp>
#include <wrenn/impl/request_head.ipp>
#include <wrenn/impl/ws_frames.ipp>
#include <wrenn/impl/http_answer.ipp>
#include <wrenn/impl/tls_context.ipp>
#include <wrenn/impl/http_pool.ipp>
#include <wrenn/impl/http_transport.ipp>
#include <wrenn/impl/http_body_stream.ipp>
#include <wrenn/impl/websocket.ipp>
#include <wrenn/impl/stream_messages.ipp>
#include <wrenn/impl/git_protocol.ipp>
#include <wrenn/impl/git_argv.ipp>
#include <wrenn/impl/jupyter.ipp>
#include <wrenn/impl/client.ipp>
#include <wrenn/impl/process_stream.ipp>
#include <wrenn/impl/pty.ipp>
#include <wrenn/impl/commands.ipp>
#include <wrenn/impl/git.ipp>
#include <wrenn/impl/files.ipp>
#include <wrenn/impl/multipart.ipp>
#include <wrenn/impl/capsule.ipp>
#include <wrenn/impl/code_runner.ipp>
#include <wrenn/impl/runner.ipp>
