# net/ tests: real sockets (TLS with dev certs made by tools/make-dev-certs.sh,
# loopback plain TCP, unix sockets).
add_executable(net_tests
  ${CMAKE_CURRENT_LIST_DIR}/net_test_support.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/deadline_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/json_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/router_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/client_failover_test.cpp
)
target_include_directories(net_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(net_tests PRIVATE migclock_net GTest::gtest_main)
target_compile_definitions(net_tests PRIVATE
  MIGCLOCK_MAKE_DEV_CERTS="${PROJECT_SOURCE_DIR}/tools/make-dev-certs.sh")
gtest_discover_tests(net_tests DISCOVERY_TIMEOUT 60)
