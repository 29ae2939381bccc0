#include "migclock/common/parse_int.hpp"

#include <gtest/gtest.h>

namespace migclock {
namespace {

TEST(ParseInt, AcceptsWholeDecimalIntegers) {
  EXPECT_EQ(parse_int("0"), 0);
  EXPECT_EQ(parse_int("42"), 42);
  EXPECT_EQ(parse_int("-7"), -7);
  EXPECT_EQ(parse_int("+7"), 7);
  EXPECT_EQ(parse_int("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(parse_int("-9223372036854775808"), INT64_MIN);
}

TEST(ParseInt, RefusesWhatIsNotWhollyAnInteger) {
  for (const char* bad : {"", "-", "+", "+-1", " 1", "1 ", "1x", "0x10", "1.5", "1e3", "abc"})
    EXPECT_FALSE(parse_int(bad).has_value()) << "'" << bad << "'";
}

TEST(ParseInt, RefusesOverflowInsteadOfWrapping) {
  EXPECT_FALSE(parse_int("9223372036854775808").has_value());
  EXPECT_FALSE(parse_int("-9223372036854775809").has_value());
  EXPECT_FALSE(parse_int("99999999999999999999999").has_value());
}

TEST(ParseInt, HonoursTheRangeInclusively) {
  EXPECT_EQ(parse_int("0", 0, 10), 0);
  EXPECT_EQ(parse_int("10", 0, 10), 10);
  EXPECT_FALSE(parse_int("-1", 0, 10).has_value());
  EXPECT_FALSE(parse_int("11", 0, 10).has_value());
}

}  // namespace
}  // namespace migclock
