# tests/timeprobe: the demo judge's arithmetic and report (tools/timeprobe).
if(TARGET migclock_timeprobe)
  add_executable(timeprobe_tests ${CMAKE_CURRENT_LIST_DIR}/estimate_test.cpp ${CMAKE_CURRENT_LIST_DIR}/report_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/channel_test.cpp)
  target_link_libraries(timeprobe_tests PRIVATE migclock_timeprobe GTest::gtest_main)
  target_include_directories(timeprobe_tests PRIVATE ${PROJECT_SOURCE_DIR}/tools/guest/timeprobe)
  gtest_discover_tests(timeprobe_tests DISCOVERY_TIMEOUT 60)
endif()
