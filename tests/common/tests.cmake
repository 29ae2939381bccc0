# common/ tests: pure functions, no system access.
add_executable(common_tests
  ${CMAKE_CURRENT_LIST_DIR}/parse_int_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rapidjson_config_test.cpp)
target_link_libraries(common_tests PRIVATE migclock_common GTest::gtest_main)
gtest_discover_tests(common_tests DISCOVERY_TIMEOUT 60)
