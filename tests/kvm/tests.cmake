# kvm/ tests: the real /dev/kvm (skipped with the reason when it is absent)
# and model tests of the restore math against the kernel's documented TSC
# semantics (ModelTest), because this host ignores TSC offset writes.
add_executable(migclock_kvm_tests
  ${CMAKE_CURRENT_LIST_DIR}/admission_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/capture_restore_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/kvm_clock_port_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/probe_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/restore_model_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tsc_frequency_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/wrappers_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hypervisor_model.cpp)
target_include_directories(migclock_kvm_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(migclock_kvm_tests PRIVATE migclock_kvm migclock_serialization GTest::gtest_main)
if(TARGET migclock-testvmm)
  add_dependencies(migclock_kvm_tests migclock-testvmm)
  target_compile_definitions(migclock_kvm_tests PRIVATE MIGCLOCK_TESTVMM="$<TARGET_FILE:migclock-testvmm>")
endif()
if(TARGET migclock)
  target_compile_definitions(migclock_kvm_tests PRIVATE MIGCLOCK_CLI="$<TARGET_FILE:migclock>")
endif()
# Real-KVM tests share two cores with everyone: run them serially.
gtest_discover_tests(migclock_kvm_tests PROPERTIES RUN_SERIAL TRUE DISCOVERY_TIMEOUT 60)
