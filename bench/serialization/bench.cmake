# serialization/ benchmarks (issue #3): encode/decode for 1, 4, 8, 64 vCPUs
# in both archives. Results: docs/benchmarks.md, "serialization/".
add_executable(bench_serialization ${CMAKE_CURRENT_LIST_DIR}/bench_snapshot.cpp)
target_link_libraries(bench_serialization PRIVATE migclock_serialization benchmark::benchmark)
