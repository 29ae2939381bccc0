// RAPIDJSON_ASSERT is defined once for the whole tree (common/.../
// rapidjson_config.hpp, included ahead of every file): it throws. This file
// includes rapidjson and not cereal, which used to be the case where it
// aborted (or, under NDEBUG, read a missing member as null and went on).
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <stdexcept>

#include "migclock/common/json_writer.hpp"

namespace migclock {
namespace {

TEST(RapidJsonConfig, AMisusedValueThrowsInsteadOfAborting) {
  rapidjson::Document d;
  d.Parse("[1, 2]");
  ASSERT_FALSE(d.HasParseError());
  EXPECT_THROW((void)d["missing"], std::logic_error);   // not an object
  EXPECT_THROW((void)d[0].GetString(), std::logic_error);  // not a string
}

TEST(RapidJsonConfig, AMissingMemberThrowsRatherThanReadingAsNull) {
  rapidjson::Document d;
  d.Parse(R"({"present": true, "value": {"guest_ns": 5}})");
  ASSERT_FALSE(d.HasParseError());
  EXPECT_EQ(d["value"]["guest_ns"].GetInt64(), 5);
  EXPECT_THROW((void)d["guest_ns"], std::logic_error);
}

TEST(JsonWriter, WritesCompactAndPrettyWithTheSameCalls) {
  JsonWriter w;
  w.begin_object().field("a", 1).field("b", "x").key("c").begin_array().value(true).null().end_array().end_object();
  EXPECT_EQ(w.str(), R"({"a":1,"b":"x","c":[true,null]})");
  PrettyJsonWriter p;
  p.begin_object().field("a", 1).end_object();
  EXPECT_EQ(p.str(), "{\n    \"a\": 1\n}");
}

TEST(JsonWriter, NonFiniteDoublesAreNull) {
  JsonWriter w;
  w.begin_array().value(1.5).value(std::numeric_limits<double>::infinity()).end_array();
  EXPECT_EQ(w.str(), "[1.5,null]");
}

}  // namespace
}  // namespace migclock
