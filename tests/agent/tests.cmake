# tests/agent: migclock-agent and migclock-hook (issue #4).
#   agent_unit_tests   config, XML edits, the TSC pin decision, metrics, paths
#   agent_hook_tests   the real hook binary driven exactly as libvirt runs it
#                      (argv + stdin + libvirt's environment) against a real
#                      agent over its unix socket; install; SO_PEERCRED
#   agent_owned_vmm_tests  the real test VMM (/dev/kvm) migrating between two
#                      real agents through the real controller
#   agent_libvirt_tests  a real agent against real session libvirt daemons
#                      with a real TCG guest (tools/libvirt-sandbox): events,
#                      capture, suspend/resume sync, policies, migration + hook
#   agent_libvirt_clock_tests  the same set-up with a guest an hour ahead by
#                      design (<clock offset='variable' adjustment='3600'/>):
#                      domain_clock and continuity targets across a suspend
#                      and a live migration
#   agent_unit_verify  systemd-analyze verify of systemd/migclock-agent.service.in
if(TARGET migclock_agent_core AND TARGET migclock-hook)
  add_executable(agent_unit_tests
    ${CMAKE_CURRENT_LIST_DIR}/domain_xml_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/tsc_pin_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/config_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/masterclock_trace_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/qga_bias_test.cpp)
  target_link_libraries(agent_unit_tests PRIVATE migclock_agent_core cereal::cereal GTest::gtest_main)
  gtest_discover_tests(agent_unit_tests DISCOVERY_TIMEOUT 60)

  set(MIGCLOCK_AGENT_TEST_DEFS
    MIGCLOCK_AGENT_BIN="$<TARGET_FILE:migclock-agent>"
    MIGCLOCK_HOOK_BIN="$<TARGET_FILE:migclock-hook>"
    MIGCLOCK_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(TARGET migclock-testvmm)
    list(APPEND MIGCLOCK_AGENT_TEST_DEFS MIGCLOCK_TESTVMM_BIN="$<TARGET_FILE:migclock-testvmm>")
  endif()
  foreach(t hook libvirt libvirt_clock owned_vmm)
    if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/${t}_test.cpp)
      add_executable(agent_${t}_tests ${CMAKE_CURRENT_LIST_DIR}/${t}_test.cpp ${CMAKE_CURRENT_LIST_DIR}/agent_process.cpp
                     ${CMAKE_CURRENT_LIST_DIR}/../gtest_main_skip77.cpp)
      target_link_libraries(agent_${t}_tests PRIVATE migclock_agent_core cereal::cereal GTest::gtest)
      target_compile_definitions(agent_${t}_tests PRIVATE ${MIGCLOCK_AGENT_TEST_DEFS})
      add_dependencies(agent_${t}_tests migclock-agent migclock-hook)
      if(TARGET migclock-testvmm)
        add_dependencies(agent_${t}_tests migclock-testvmm)
      endif()
      if(TARGET migclock-controller)
        target_compile_definitions(agent_${t}_tests PRIVATE MIGCLOCK_CONTROLLER_BIN="$<TARGET_FILE:migclock-controller>")
        add_dependencies(agent_${t}_tests migclock-controller)
      endif()
      # One process per binary: the hook tests share one agent, the libvirt
      # tests one booted guest (see their fixtures).
      add_test(NAME agent_${t}_tests COMMAND agent_${t}_tests)
      # A binary whose every test skipped (no /dev/kvm, no root...) is
      # reported as skipped, not passed (gtest_main_skip77.cpp); its log
      # names what was missing.
      set_tests_properties(agent_${t}_tests PROPERTIES TIMEOUT 900 SKIP_RETURN_CODE 77)
      if(t MATCHES "^libvirt")
        # It installs migclock-hook into /etc/libvirt/hooks, which every
        # libvirt daemon on the machine runs, and removes it at the end: a
        # daemon another test started meanwhile would find its cached hook
        # gone. Run alone.
        set_tests_properties(agent_${t}_tests PROPERTIES RUN_SERIAL TRUE)
      endif()
    endif()
  endforeach()

  find_program(SYSTEMD_ANALYZE systemd-analyze)
  if(SYSTEMD_ANALYZE)
    add_test(NAME agent_unit_verify
      COMMAND ${CMAKE_CURRENT_LIST_DIR}/verify_unit.sh ${SYSTEMD_ANALYZE}
              ${PROJECT_SOURCE_DIR}/systemd/migclock-agent.service.in $<TARGET_FILE:migclock-agent>)
  endif()
endif()
