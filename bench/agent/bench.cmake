# bench/agent: migclock-timereport — guest clock repair after suspend/resume
# and live migration, against the peers, with a real guest (issue #4).
# Results: docs/benchmarks.md, "agent/ ... guest clock repair".
if(TARGET migclock_agent_sync)
  add_executable(migclock-timereport
    ${CMAKE_CURRENT_LIST_DIR}/timereport_main.cpp
    ${CMAKE_CURRENT_LIST_DIR}/timereport_runs.cpp
    ${CMAKE_CURRENT_LIST_DIR}/timereport_output.cpp)
  target_link_libraries(migclock-timereport PRIVATE migclock_agent_sync)
  target_compile_definitions(migclock-timereport PRIVATE MIGCLOCK_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endif()
