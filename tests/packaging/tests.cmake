# tests/packaging: the Debian packages and the monitoring files (issue #14).
#   package_build     CPack DEB from this build tree into build/pkg-test
#   package_contents  dpkg-deb --info/--contents checks
#   package_install   dpkg -i / -r / -P on this machine (root), installed
#                     units, config, tokens; leaves nothing behind
#   install_prefix    cmake --install with another prefix into a staging root
# package_build reuses the build's binaries and man pages (tools/build.sh
# builds them): it only runs CPack.
if(TARGET migclock-agent AND TARGET migclock-controller AND TARGET migclock-hook)
  set(MIGCLOCK_TEST_PKG_DIR ${CMAKE_BINARY_DIR}/pkg-test)
  set(script ${CMAKE_CURRENT_LIST_DIR}/package_test.sh)
  foreach(step build contents install)
    add_test(NAME package_${step}
      COMMAND bash ${script} ${step} ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR} ${MIGCLOCK_TEST_PKG_DIR})
    set_tests_properties(package_${step} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
  endforeach()
  set_tests_properties(package_build PROPERTIES FIXTURES_SETUP migclock_debs)
  set_tests_properties(package_contents package_install PROPERTIES FIXTURES_REQUIRED migclock_debs)
  # dpkg -i puts the hook in /etc/libvirt/hooks like agent_libvirt_tests:
  # run alone (the script also takes /tmp/migclock-libvirt.lock).
  set_tests_properties(package_install PROPERTIES RUN_SERIAL TRUE)
  add_test(NAME install_prefix COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/install_prefix.sh ${CMAKE_BINARY_DIR})
endif()

# monitoring_tests: docs/monitoring against a real agent and controller
# (promtool, exported metric names, a real Prometheus evaluating the rules).
if(TARGET migclock_agent_core AND TARGET migclock-controller)
  add_executable(monitoring_tests ${CMAKE_CURRENT_LIST_DIR}/monitoring_test.cpp
                                  ${PROJECT_SOURCE_DIR}/tests/agent/agent_process.cpp)
  target_include_directories(monitoring_tests PRIVATE ${PROJECT_SOURCE_DIR}/tests/agent)
  if(MIGCLOCK_SANITIZE)
    # GCC 12's sanitizer instrumentation makes -Wmaybe-uninitialized report
    # std::regex's own std::function members here: a false positive of that
    # build only (the normal build keeps the warning).
    target_compile_options(monitoring_tests PRIVATE -Wno-maybe-uninitialized)
  endif()
  target_link_libraries(monitoring_tests PRIVATE migclock_agent_core GTest::gtest_main)
  target_compile_definitions(monitoring_tests PRIVATE
    MIGCLOCK_AGENT_BIN="$<TARGET_FILE:migclock-agent>"
    MIGCLOCK_CONTROLLER_BIN="$<TARGET_FILE:migclock-controller>"
    MIGCLOCK_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_dependencies(monitoring_tests migclock-agent migclock-controller)
  add_test(NAME monitoring_tests COMMAND monitoring_tests)
  set_tests_properties(monitoring_tests PROPERTIES TIMEOUT 300)
endif()
