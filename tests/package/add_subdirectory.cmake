# package: add_subdirectory (and package: clang) — build and run a consumer
# that vendors wrenn with add_subdirectory, in separate-compilation mode, with
# -Wall -Wextra -Werror.
#   USE_PROJECT_TU=ON  compile wrenn's own src/wrenn.cpp as the library TU
#   EXPECT_COMPILER    "<id> <major>" the nested build must use, e.g. "Clang 14"
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

pkg_fresh("${WORK_DIR}")
if(USE_PROJECT_TU)
  set(tu_arg -DWRENN_CONSUMER_USE_PROJECT_TU=ON)
else()
  set(tu_arg -DWRENN_CONSUMER_USE_PROJECT_TU=OFF)
endif()

pkg_step(configure-consumer ${CMAKE_COMMAND} -S "${CMAKE_CURRENT_LIST_DIR}/subdir_consumer"
  -B "${WORK_DIR}/consumer" ${pkg_configure_args} "-DWRENN_SOURCE_DIR=${WRENN_SOURCE_DIR}" ${tu_arg}
  "-DWRENN_CONSUMER_EXPECT_COMPILER=${EXPECT_COMPILER}")
pkg_step(build-consumer ${CMAKE_COMMAND} --build "${WORK_DIR}/consumer" --parallel ${JOBS})
pkg_step(run-consumer TIMEOUT 120 "${WORK_DIR}/consumer/wrenn_subdir_consumer")

pkg_done()
