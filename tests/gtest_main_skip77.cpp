// main() for test binaries that ctest runs as one entry (one booted guest
// or one agent shared by every test): exit 77 when every test skipped and
// none failed, so ctest (SKIP_RETURN_CODE 77) reports the entry Skipped -
// not Passed, and never hides a failure. The skips' reasons are in its log.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  const auto* unit = ::testing::UnitTest::GetInstance();
  if (rc == 0 && unit->successful_test_count() == 0 && unit->skipped_test_count() > 0) return 77;
  return rc;
}
