# serialization/ tests (issue #3). Golden files live in golden/.
set(MIGCLOCK_SERIALIZATION_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})

add_library(migclock_serialization_fixtures STATIC ${MIGCLOCK_SERIALIZATION_TEST_DIR}/snapshot_fixtures.cpp)
target_link_libraries(migclock_serialization_fixtures PUBLIC migclock_snapshot)

add_executable(serialization_tests
  ${MIGCLOCK_SERIALIZATION_TEST_DIR}/cli_test.cpp
  ${MIGCLOCK_SERIALIZATION_TEST_DIR}/envelope_test.cpp
  ${MIGCLOCK_SERIALIZATION_TEST_DIR}/file_io_test.cpp
  ${MIGCLOCK_SERIALIZATION_TEST_DIR}/golden_test.cpp
  ${MIGCLOCK_SERIALIZATION_TEST_DIR}/json_decode_test.cpp
  ${MIGCLOCK_SERIALIZATION_TEST_DIR}/roundtrip_test.cpp
  ${MIGCLOCK_SERIALIZATION_TEST_DIR}/validate_test.cpp
)
target_link_libraries(serialization_tests PRIVATE migclock_serialization migclock_serialization_fixtures
                      GTest::gtest_main)
target_compile_definitions(serialization_tests PRIVATE
  MIGCLOCK_GOLDEN_DIR="${MIGCLOCK_SERIALIZATION_TEST_DIR}/golden"
  MIGCLOCK_BINARY="$<TARGET_FILE:migclock>")
add_dependencies(serialization_tests migclock)
if(MIGCLOCK_RAPIDJSON_SANITIZE_FLAGS)  # see the top-level CMakeLists.txt
  set_source_files_properties(${MIGCLOCK_SERIALIZATION_TEST_DIR}/roundtrip_test.cpp
    ${MIGCLOCK_SERIALIZATION_TEST_DIR}/cli_test.cpp PROPERTIES COMPILE_OPTIONS "${MIGCLOCK_RAPIDJSON_SANITIZE_FLAGS}")
endif()
gtest_discover_tests(serialization_tests DISCOVERY_TIMEOUT 60)

# Writes the golden files of the current format version (run by hand when a
# version is introduced; see golden_test.cpp).
add_executable(serialization_golden_writer ${MIGCLOCK_SERIALIZATION_TEST_DIR}/golden_writer.cpp)
target_link_libraries(serialization_golden_writer PRIVATE migclock_serialization migclock_serialization_fixtures)
