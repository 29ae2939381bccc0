# tests/timeprobe: the demo judge's arithmetic and report (tools/timeprobe).
if(TARGET migclock_timeprobe)
  add_executable(timeprobe_tests ${CMAKE_CURRENT_LIST_DIR}/estimate_test.cpp ${CMAKE_CURRENT_LIST_DIR}/report_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/channel_test.cpp ${CMAKE_CURRENT_LIST_DIR}/guest_program_test.cpp)
  target_link_libraries(timeprobe_tests PRIVATE migclock_timeprobe GTest::gtest_main)
  if(MIGCLOCK_RAPIDJSON_SANITIZE_FLAGS)  # see the top-level CMakeLists.txt
    set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/report_test.cpp
      PROPERTIES COMPILE_OPTIONS "${MIGCLOCK_RAPIDJSON_SANITIZE_FLAGS}")
  endif()
  target_include_directories(timeprobe_tests PRIVATE ${PROJECT_SOURCE_DIR}/tools/guest/timeprobe)
  # The guest program itself, built for this host (the guest image links it
  # statically in tools/guest/build-guest.sh).
  add_executable(timeprobe_guest_host ${PROJECT_SOURCE_DIR}/tools/guest/timeprobe/timeprobe_guest.c)
  add_dependencies(timeprobe_tests timeprobe_guest_host)
  target_compile_definitions(timeprobe_tests PRIVATE MIGCLOCK_TIMEPROBE_GUEST_BIN="$<TARGET_FILE:timeprobe_guest_host>")
  gtest_discover_tests(timeprobe_tests DISCOVERY_TIMEOUT 60)
endif()
