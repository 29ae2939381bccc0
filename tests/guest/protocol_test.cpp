// The companion's wire format: what parses, and everything that must not.
#include <gtest/gtest.h>

#include <string>

#include "migclock/guest/protocol.hpp"

namespace migclock::guest {
namespace {

TEST(GuestProtocol, ParsesTheThreeRequests) {
  auto t = parse_request("MCC1 T 7");
  ASSERT_TRUE(t.request);
  EXPECT_EQ(t.request->verb, Verb::time);
  EXPECT_EQ(t.request->id, 7u);
  auto s = parse_request("MCC1 S 8 -1234567");
  ASSERT_TRUE(s.request);
  EXPECT_EQ(s.request->verb, Verb::step);
  EXPECT_EQ(s.request->step_ns, -1234567);
  EXPECT_FALSE(s.request->big);
  auto b = parse_request("MCC1 S 9 3000000000 big");
  ASSERT_TRUE(b.request);
  EXPECT_TRUE(b.request->big);
  EXPECT_EQ(b.request->step_ns, 3000000000);
  auto i = parse_request("MCC1 I 18446744073709551615");
  ASSERT_TRUE(i.request);
  EXPECT_EQ(i.request->verb, Verb::info);
  EXPECT_EQ(i.request->id, UINT64_MAX);
}

TEST(GuestProtocol, FormattedRequestsParseBack) {
  for (int64_t ns : {int64_t{0}, int64_t{-1}, INT64_MIN, INT64_MAX, int64_t{123456789}}) {
    std::string line = format_step_request(42, ns, ns == INT64_MIN);
    ASSERT_EQ(line.back(), '\n');
    line.pop_back();
    auto p = parse_request(line);
    ASSERT_TRUE(p.request) << line;
    EXPECT_EQ(p.request->step_ns, ns);
    EXPECT_EQ(p.request->big, ns == INT64_MIN);
  }
}

TEST(GuestProtocol, RejectsEverythingNotExactlyWellFormed) {
  const char* bad[] = {
      "", "MCC1", "MCC1 T", "MCC1 T ", "MCC1  T 1", " MCC1 T 1", "MCC1 T 1 ", "MCC1 T 1\r", "MCC2 T 1",
      "mcc1 T 1", "MCC1 T -1", "MCC1 T +1", "MCC1 T 1x", "MCC1 T 0x10", "MCC1 T 18446744073709551616",
      "MCC1 T 1 extra", "MCC1 S 1", "MCC1 S 1 ", "MCC1 S 1 +5", "MCC1 S 1 5.0", "MCC1 S 1 --5", "MCC1 S 1 -",
      "MCC1 S 1 9223372036854775808", "MCC1 S 1 -9223372036854775809", "MCC1 S 1 5 BIG", "MCC1 S 1 5 big x",
      "MCC1 S 1 5 bigger", "MCC1 I 1 x", "MCC1 t 1", "MCC1 T\t1", "MCC1 T 1\x01", "MCC1 T \xff",
      "MCC1 s 1 ok 5", "MCC1 9 1",
  };
  for (const char* l : bad) {
    auto p = parse_request(l);
    EXPECT_FALSE(p.request) << "parsed: " << l;
    EXPECT_EQ(p.error, ParseError::malformed) << l;
  }
  // Embedded NUL: std::string_view keeps it, and it is not printable.
  EXPECT_FALSE(parse_request(std::string_view("MCC1 T 1\0", 9)).request);
}

TEST(GuestProtocol, ALineAtTheLimitParsesOneByteMoreDoesNot) {
  // kMaxLine counts the '\n'.
  std::string ok = "MCC1 T " + std::string(kMaxLine - 1 - 7, '0');
  ok.replace(ok.size() - 1, 1, "1");
  ASSERT_EQ(ok.size() + 1, kMaxLine);
  EXPECT_FALSE(parse_request(ok).request) << "more digits than a u64 holds";
  std::string id_ok = "MCC1 T 1";
  EXPECT_TRUE(parse_request(id_ok).request);
  EXPECT_FALSE(parse_request(std::string(kMaxLine, 'A')).request);
}

TEST(GuestProtocol, UnknownVerbFromANewerPeerIsToldApart) {
  auto p = parse_request("MCC1 X 5");
  EXPECT_FALSE(p.request);
  EXPECT_EQ(p.error, ParseError::unknown_verb);
  EXPECT_EQ(p.id, 5u);
}

TEST(GuestProtocol, StrictIntegers) {
  EXPECT_EQ(parse_i64("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(parse_i64("9223372036854775807"), INT64_MAX);
  EXPECT_FALSE(parse_i64("9223372036854775808"));
  EXPECT_FALSE(parse_i64(""));
  EXPECT_FALSE(parse_i64("-"));
  EXPECT_FALSE(parse_i64(" 1"));
  EXPECT_EQ(parse_u64("00012"), 12u);
  EXPECT_FALSE(parse_u64("99999999999999999999"));
}

TEST(GuestProtocol, RepliesParse) {
  auto t = parse_reply("MCC1 t 3 1700000000 999999999");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->verb, 't');
  EXPECT_EQ(t->sec, 1700000000);
  EXPECT_EQ(t->nsec, 999999999);
  EXPECT_FALSE(parse_reply("MCC1 t 3 1700000000 1000000000"));
  EXPECT_FALSE(parse_reply("MCC1 t 3 1700000000"));
  auto s = parse_reply("MCC1 s 4 ok -20");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->ok);
  EXPECT_EQ(s->step_ns, -20);
  auto n = parse_reply("MCC1 s 4 no too-big");
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->ok);
  EXPECT_EQ(n->text, "too-big");
  auto i = parse_reply("MCC1 i 5 v=1 cs=kvm-clock chronyd=0 ntpd=1");
  ASSERT_TRUE(i);
  EXPECT_EQ(info_value(i->text, "cs"), "kvm-clock");
  EXPECT_EQ(info_value(i->text, "ntpd"), "1");
  EXPECT_FALSE(info_value(i->text, "c"));
  EXPECT_FALSE(parse_reply("MCC1 q 5"));
  EXPECT_FALSE(parse_reply("garbage"));
}

}  // namespace
}  // namespace migclock::guest
