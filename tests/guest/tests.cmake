# tests/guest: the guest companion (guest/): its wire format and logic, and
# the real program on a pty driven by the agent's real client.
if(TARGET migclock_guest_core)
  add_executable(guest_companion_tests ${CMAKE_CURRENT_LIST_DIR}/protocol_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/companion_test.cpp ${CMAKE_CURRENT_LIST_DIR}/program_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/sync_test.cpp)
  target_link_libraries(guest_companion_tests PRIVATE migclock_guest_core migclock_agent_sync_core GTest::gtest_main)
  add_dependencies(guest_companion_tests migclock-guest-companion)
  target_compile_definitions(guest_companion_tests PRIVATE
    MIGCLOCK_GUEST_COMPANION_BIN="$<TARGET_FILE:migclock-guest-companion>")
  gtest_discover_tests(guest_companion_tests DISCOVERY_TIMEOUT 60)
endif()
