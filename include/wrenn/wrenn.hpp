// The umbrella header: the whole awaitable API and the blocking API.
#pragma once

#include <wrenn/version.hpp>
#include <wrenn/config.hpp>
#include <wrenn/error.hpp>
#include <wrenn/models.hpp>
#include <wrenn/client.hpp>
#include <wrenn/commands.hpp>
#include <wrenn/env.hpp>
#include <wrenn/files.hpp>
#include <wrenn/capsule.hpp>
#include <wrenn/sync/client.hpp>
#include <wrenn/sync/capsule.hpp>
