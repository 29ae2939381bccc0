# kvm/ benchmarks on the real /dev/kvm: capture and restore for 1, 8, 64
# vCPUs beside the bare ioctls they need (the floor), in one run.
add_executable(migclock_kvm_bench ${CMAKE_CURRENT_LIST_DIR}/capture_restore_bench.cpp)
target_link_libraries(migclock_kvm_bench PRIVATE migclock_kvm benchmark::benchmark)
