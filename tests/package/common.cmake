# Helpers shared by the package test scripts (run with cmake -P).
#
# Every script takes, with -D:
#   WRENN_SOURCE_DIR  the wrenn source tree
#   WORK_DIR          a scratch directory, wiped first (fresh builds)
#   GENERATOR         CMake generator for the nested builds (Ninja)
#   CXX               C++ compiler for the nested builds (optional)
#   LAUNCHER          compiler launcher, e.g. ccache (optional)
#   JOBS              parallel build jobs (default 2)

foreach(v IN ITEMS WRENN_SOURCE_DIR WORK_DIR GENERATOR)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "package test: -D${v}=... is required")
  endif()
endforeach()
if(NOT JOBS)
  set(JOBS 2)
endif()

string(TIMESTAMP pkg_started "%s")

# Arguments every nested configure gets.
set(pkg_configure_args -G "${GENERATOR}" -Wno-dev)
if(CXX)
  list(APPEND pkg_configure_args "-DCMAKE_CXX_COMPILER=${CXX}")
endif()
if(LAUNCHER)
  list(APPEND pkg_configure_args "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}")
endif()

# pkg_step(<label> [TIMEOUT <s>] <command>...): run a command, echo its
# output, fail the test if it fails (or outlives TIMEOUT); prints how long it
# took.
function(pkg_step label)
  set(args ${ARGN})
  set(timeout_args)
  list(GET args 0 first)
  if(first STREQUAL "TIMEOUT")
    list(GET args 1 seconds)
    set(timeout_args TIMEOUT ${seconds})
    list(REMOVE_AT args 0 1)
  endif()
  string(TIMESTAMP t0 "%s")
  list(JOIN args " " shown)
  message(STATUS "[${label}] ${shown}")
  execute_process(COMMAND ${args} RESULT_VARIABLE rc ${timeout_args})
  string(TIMESTAMP t1 "%s")
  math(EXPR dt "${t1} - ${t0}")
  if(NOT rc STREQUAL "0")
    message(FATAL_ERROR "[${label}] FAILED (${rc}) after ${dt} s")
  endif()
  message(STATUS "[${label}] ok, ${dt} s")
endfunction()

# pkg_fresh(<dir>): remove and recreate a directory.
function(pkg_fresh dir)
  file(REMOVE_RECURSE "${dir}")
  file(MAKE_DIRECTORY "${dir}")
endfunction()

function(pkg_done)
  string(TIMESTAMP t "%s")
  math(EXPR dt "${t} - ${pkg_started}")
  message(STATUS "package test passed in ${dt} s")
endfunction()
