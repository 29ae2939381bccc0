# bench/controller: migclock-bench-controller — GET throughput/latency and
# durable (acknowledged) migration records per second against a real
# controller over TLS on loopback (issue #5). Results: docs/benchmarks.md,
# "controller/".
add_executable(migclock-bench-controller ${CMAKE_CURRENT_LIST_DIR}/bench_controller.cpp)
target_link_libraries(migclock-bench-controller PRIVATE migclock_controller)
target_compile_definitions(migclock-bench-controller PRIVATE MIGCLOCK_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
