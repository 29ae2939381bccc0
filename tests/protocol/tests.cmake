# protocol/ contract tests: no root, no libvirt, no network. Every message
# round-trips; what one side encodes the other side decodes; the bytes on
# the wire are the ones released agents and controllers exchange.
add_executable(protocol_tests
  ${CMAKE_CURRENT_LIST_DIR}/protocol_samples.cpp
  ${CMAKE_CURRENT_LIST_DIR}/roundtrip_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/wire_bytes_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/contract_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hostile_test.cpp
)
target_include_directories(protocol_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR} ${PROJECT_SOURCE_DIR}/tests/serialization)
target_link_libraries(protocol_tests PRIVATE migclock_protocol migclock_controller migclock_serialization_fixtures
  GTest::gtest_main)
gtest_discover_tests(protocol_tests DISCOVERY_TIMEOUT 60)
