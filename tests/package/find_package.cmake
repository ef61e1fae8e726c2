# package: find_package — install wrenn into a scratch prefix, then build and
# run a header-only consumer that uses find_package(wrenn 0.1 CONFIG), and
# check the version file turns down find_package(wrenn 9.0).
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

pkg_fresh("${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

# 1. Install: a library-only configure of the source tree.
pkg_step(configure-wrenn ${CMAKE_COMMAND} -S "${WRENN_SOURCE_DIR}" -B "${WORK_DIR}/wrenn-build"
  ${pkg_configure_args} "-DCMAKE_INSTALL_PREFIX=${prefix}"
  -DWRENN_BUILD_TESTS=OFF -DWRENN_BUILD_EXAMPLES=OFF -DWRENN_BUILD_SERVER=OFF -DWRENN_INSTALL=ON)
pkg_step(build-wrenn ${CMAKE_COMMAND} --build "${WORK_DIR}/wrenn-build" --parallel ${JOBS})
pkg_step(install-wrenn ${CMAKE_COMMAND} --install "${WORK_DIR}/wrenn-build")

# What a user needs must be in the prefix; nothing else that we did not ask for.
file(GLOB config_files "${prefix}/*/cmake/wrenn/wrennConfig.cmake" "${prefix}/*/*/cmake/wrenn/wrennConfig.cmake")
if(NOT config_files)
  message(FATAL_ERROR "no <prefix>/<libdir>/cmake/wrenn/wrennConfig.cmake installed")
endif()
list(GET config_files 0 config_file)
cmake_path(GET config_file PARENT_PATH config_dir)
foreach(f IN ITEMS "${config_dir}/wrennConfigVersion.cmake" "${config_dir}/wrennTargets.cmake"
                   "${prefix}/include/wrenn/wrenn.hpp" "${prefix}/include/wrenn/src.hpp"
                   "${prefix}/include/wrenn/impl/client.ipp" "${prefix}/include/wrenn/sync/client.hpp")
  if(NOT EXISTS "${f}")
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
if(EXISTS "${prefix}/bin/wrenn-local")
  message(FATAL_ERROR "wrenn-local installed although WRENN_BUILD_SERVER=OFF")
endif()
message(STATUS "installed package: ${config_dir}")

# 2. The consumer, header-only, against the prefix only.
set(consumer_args ${pkg_configure_args} "-DCMAKE_PREFIX_PATH=${prefix}"
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
pkg_step(configure-consumer ${CMAKE_COMMAND} -S "${CMAKE_CURRENT_LIST_DIR}/consumer"
  -B "${WORK_DIR}/consumer" ${consumer_args} "-DWRENN_CONSUMER_EXPECT_PREFIX=${prefix}")
pkg_step(build-consumer ${CMAKE_COMMAND} --build "${WORK_DIR}/consumer" --parallel ${JOBS})
pkg_step(run-consumer TIMEOUT 120 "${WORK_DIR}/consumer/wrenn_consumer")

# 3. The version file: 0.1.x must not satisfy a request for 9.0.
execute_process(COMMAND ${CMAKE_COMMAND} -S "${CMAKE_CURRENT_LIST_DIR}/consumer"
  -B "${WORK_DIR}/consumer-9.0" ${consumer_args} -DWRENN_CONSUMER_VERSION=9.0
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc STREQUAL "0")
  message(FATAL_ERROR "find_package(wrenn 9.0 CONFIG REQUIRED) succeeded against wrenn 0.1:\n${out}\n${err}")
endif()
string(REGEX REPLACE "[ \t\r\n]+" " " err_flat "${err}")  # CMake wraps its messages
if(NOT err_flat MATCHES "compatible with requested version \"9\\.0\"")
  message(FATAL_ERROR "find_package(wrenn 9.0) failed, but not on the version:\n${out}\n${err}")
endif()
message(STATUS "[version-9.0] rejected, as it should be")

pkg_done()
