# migclock-hook latency as libvirt sees it (docs/benchmarks.md, agent/ section).
if(TARGET migclock-agent AND TARGET migclock-hook)
  add_executable(agent_hook_bench ${CMAKE_CURRENT_LIST_DIR}/hook_bench.cpp
                 ${PROJECT_SOURCE_DIR}/tests/agent/agent_process.cpp)
  target_include_directories(agent_hook_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests/agent)
  # agent_process.cpp reaches the controller through net::Client.
  target_link_libraries(agent_hook_bench PRIVATE migclock_net benchmark::benchmark Threads::Threads)
  target_compile_definitions(agent_hook_bench PRIVATE
    MIGCLOCK_AGENT_BIN="$<TARGET_FILE:migclock-agent>" MIGCLOCK_HOOK_BIN="$<TARGET_FILE:migclock-hook>")
  add_dependencies(agent_hook_bench migclock-agent migclock-hook)
endif()
