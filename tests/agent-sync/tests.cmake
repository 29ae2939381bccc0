# tests/agent-sync: the guest-agent clock repair (agent/sync).
#   *ModelTest*  arithmetic and policy against a deterministic guest model
#   RealGuest*   a real TCG guest under two real session libvirt daemons
#                (tools/libvirt-sandbox); skipped, with the reason, when not
#                root or libvirtd/qemu/the guest build are unavailable.
if(TARGET migclock_agent_sync)
  add_executable(agent_sync_model_tests
    ${CMAKE_CURRENT_LIST_DIR}/offset_model_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/sync_model_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/clock_target_test.cpp)
  target_link_libraries(agent_sync_model_tests PRIVATE migclock_agent_sync_core GTest::gtest_main)
  gtest_discover_tests(agent_sync_model_tests DISCOVERY_TIMEOUT 60)

  add_executable(agent_sync_real_guest_tests ${CMAKE_CURRENT_LIST_DIR}/real_guest_test.cpp
                 ${CMAKE_CURRENT_LIST_DIR}/../gtest_main_skip77.cpp)
  target_link_libraries(agent_sync_real_guest_tests PRIVATE migclock_agent_sync GTest::gtest)
  target_compile_definitions(agent_sync_real_guest_tests PRIVATE MIGCLOCK_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  # One process, one booted guest shared by every test (see the fixture):
  # registered as a single ctest entry so ctest never boots it twice.
  add_test(NAME agent_sync_real_guest_tests COMMAND agent_sync_real_guest_tests)
  set_tests_properties(agent_sync_real_guest_tests PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77)
endif()
