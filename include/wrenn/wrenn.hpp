// The umbrella header: the whole awaitable API and the blocking API.
#pragma once

#include <wrenn/version.hpp>
#include <wrenn/config.hpp>
#include <wrenn/error.hpp>
#include <wrenn/error_code.hpp>
#include <wrenn/models.hpp>
#include <wrenn/client.hpp>
#include <wrenn/commands.hpp>
#include <wrenn/events.hpp>
#include <wrenn/process_stream.hpp>
#include <wrenn/pty.hpp>
#include <wrenn/env.hpp>
#include <wrenn/files.hpp>
#include <wrenn/git.hpp>
#include <wrenn/execution.hpp>
#include <wrenn/capsule.hpp>
#include <wrenn/code_runner.hpp>
#include <wrenn/sync/client.hpp>
#include <wrenn/sync/capsule.hpp>
#include <wrenn/sync/code_runner.hpp>
#include <wrenn/sync/process_stream.hpp>
