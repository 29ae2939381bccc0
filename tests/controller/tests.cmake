# controller/ tests (issue #5): the real controller over TLS on loopback with
# a real SQLite journal in a temp dir; the crash test kills the real binary.
add_executable(controller_tests
  ${CMAKE_CURRENT_LIST_DIR}/fixture.cpp
  ${CMAKE_CURRENT_LIST_DIR}/api_table_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hosts_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/migrations_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hostile_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hostile_input_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/crash_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/crash_records_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/preflight_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cli_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/systemd_unit_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/store_journal_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/durability_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/offset_estimate_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/net/net_test_support.cpp
)
target_include_directories(controller_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR} ${PROJECT_SOURCE_DIR}/tests/net
  ${PROJECT_SOURCE_DIR}/tests/serialization)
target_link_libraries(controller_tests PRIVATE migclock_controller migclock_serialization_fixtures GTest::gtest_main)
target_compile_definitions(controller_tests PRIVATE
  MIGCLOCK_MAKE_DEV_CERTS="${PROJECT_SOURCE_DIR}/tools/make-dev-certs.sh"
  MIGCLOCK_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  MIGCLOCK_CONTROLLER_BIN="$<TARGET_FILE:migclock-controller>"
  MIGCLOCKCTL_BIN="$<TARGET_FILE:migclockctl>")
add_dependencies(controller_tests migclock-controller migclockctl)
gtest_discover_tests(controller_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
