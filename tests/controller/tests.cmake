# controller/ tests (issue #5): the real controller over TLS on loopback with
# a real SQLite journal in a temp dir; the crash test kills the real binary.
add_executable(controller_tests
  ${CMAKE_CURRENT_LIST_DIR}/fixture.cpp
  ${CMAKE_CURRENT_LIST_DIR}/api_table_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hosts_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/migrations_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hostile_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hostile_input_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/crash_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/crash_records_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/preflight_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cli_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/systemd_unit_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/store_journal_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/durability_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/offset_estimate_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/etcd_cluster.cpp
  ${PROJECT_SOURCE_DIR}/tests/net/net_test_support.cpp
)
target_include_directories(controller_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR} ${PROJECT_SOURCE_DIR}/tests/net
  ${PROJECT_SOURCE_DIR}/tests/serialization)
target_link_libraries(controller_tests PRIVATE migclock_controller migclock_serialization_fixtures GTest::gtest_main)
target_compile_definitions(controller_tests PRIVATE
  MIGCLOCK_MAKE_DEV_CERTS="${PROJECT_SOURCE_DIR}/tools/make-dev-certs.sh"
  MIGCLOCK_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  MIGCLOCK_CONTROLLER_BIN="$<TARGET_FILE:migclock-controller>"
  MIGCLOCKCTL_BIN="$<TARGET_FILE:migclockctl>")
add_dependencies(controller_tests migclock-controller migclockctl)
gtest_discover_tests(controller_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)

# issue 13: the etcd store against real etcd processes (Debian's etcd-server;
# the tests skip, naming it, where the binary is missing).
add_executable(controller_etcd_tests
  ${CMAKE_CURRENT_LIST_DIR}/fixture.cpp
  ${CMAKE_CURRENT_LIST_DIR}/etcd_cluster.cpp
  ${CMAKE_CURRENT_LIST_DIR}/etcd_store_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/etcd_auth_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/etcd_compaction_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/etcd_controllers_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/etcd_cluster_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/net/net_test_support.cpp
)
target_include_directories(controller_etcd_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR} ${PROJECT_SOURCE_DIR}/tests/net
  ${PROJECT_SOURCE_DIR}/tests/serialization ${PROJECT_SOURCE_DIR}/controller/src/etcd)
target_link_libraries(controller_etcd_tests PRIVATE migclock_controller migclock_serialization_fixtures GTest::gtest_main)
target_compile_definitions(controller_etcd_tests PRIVATE
  MIGCLOCK_MAKE_DEV_CERTS="${PROJECT_SOURCE_DIR}/tools/make-dev-certs.sh"
  MIGCLOCK_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  MIGCLOCK_CONTROLLER_BIN="$<TARGET_FILE:migclock-controller>")
add_dependencies(controller_etcd_tests migclock-controller)
gtest_discover_tests(controller_etcd_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
# The existing API tests, again on etcd (one process-wide etcd member, a
# key prefix per test). Left out: the ones that open controller.db.
add_test(NAME controller_api_on_etcd
  COMMAND controller_tests
    "--gtest_filter=Hosts.*:Migrations.*:Preflight.*:ApiTable.*:Hostile.*:HostileInput.*-Hosts.OffsetHistoryIsBoundedInTheJournal:Hostile.JournalFilesAreOwnerOnly:Hostile.PlainHttpRefusedOffLoopback:Hostile.TokensAreHashedAtRest:Hostile.SlowlorisOnPlainLoopbackIsDroppedAtTheReadTimeout:HostileInput.ALegacyAgentTokenBindsToItsFirstHeartbeatForGood:HostileInput.TokenCreateBindsAgentTokensToAHost:HostileInput.ASecondControllerOnTheDataDirIsRefusedNamingTheHolder:HostileInput.AFailedJournalCommitIsLoggedRateLimited:HostileInput.AJournalWithIllFormedUtf8FromAnOlderVersionStillLoads")
set_tests_properties(controller_api_on_etcd PROPERTIES ENVIRONMENT "MIGCLOCK_TEST_STORE=etcd" TIMEOUT 600)
