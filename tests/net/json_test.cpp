#include <gtest/gtest.h>

#include "migclock/net/json.hpp"
#include "migclock/net/problem.hpp"

using namespace migclock;
using namespace migclock::net;

TEST(Json, ParseObjectRejectsNonObjectsAndGarbage) {
  EXPECT_FALSE(parse_object("[1]").ok());
  EXPECT_EQ(parse_object("[1]").problem().code, ApiErrc::invalid_json);
  auto bad = parse_object("{\"a\": }");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.problem().message.find("byte 6"), std::string::npos) << bad.problem().message;
  EXPECT_FALSE(parse_object("{} x").ok());
  EXPECT_TRUE(parse_object(" {\"a\":1} \n").ok());
}

TEST(Json, DeepNestingRefusedBeforeParsing) {
  std::string deep(100000, '[');
  auto r = parse_any(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.problem().message.find("nested"), std::string::npos);
}

TEST(Json, FieldReaderNamesTheFirstBadField) {
  auto d = parse_object(R"({"name":"x","n":"7","flag":true,"res":{"d":1.5}})");
  ASSERT_TRUE(d.ok());
  std::string name;
  int64_t n = 0;
  bool flag = false;
  FieldReader r(*d);
  r.string("name", name).int64("n", n).boolean("flag", flag);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problem()->field, "n");
  EXPECT_NE(r.problem()->message.find("integer"), std::string::npos);

  const rapidjson::Value* res = nullptr;
  FieldReader r2(*d);
  r2.object("res", res);
  ASSERT_TRUE(r2.ok());
  int64_t dd = 0;
  FieldReader nested(*res, "res");
  nested.int64("d", dd);
  EXPECT_EQ(nested.problem()->field, "res.d");

  std::string missing;
  FieldReader r3(*d);
  r3.string("absent", missing);
  EXPECT_EQ(r3.problem()->field, "absent");
  EXPECT_NE(r3.problem()->message.find("required"), std::string::npos);
}

TEST(Json, OneOfAndLengths) {
  auto d = parse_object(R"({"k":"maybe","s":"0123456789"})");
  std::string k, s;
  FieldReader r(*d);
  r.one_of("k", k, "yes,no,unknown");
  EXPECT_EQ(r.problem()->field, "k");
  FieldReader r2(*d);
  r2.string("s", s, true, 4);
  EXPECT_EQ(r2.problem()->field, "s");
}

TEST(Json, WriterEscapesAndNests) {
  JsonWriter w;
  w.begin_object().key("q\"uote").value("a\nb").key("arr").begin_array().value(int64_t{-1}).null().end_array()
      .key("raw").raw(R"({"x":1})").end_object();
  EXPECT_EQ(w.str(), R"({"q\"uote":"a\nb","arr":[-1,null],"raw":{"x":1}})");
}

TEST(Problem, OneTableMapsCodesToStatuses) {
  EXPECT_EQ(status_of(ApiErrc::unauthorized), 401u);
  EXPECT_EQ(status_of(ApiErrc::forbidden), 403u);
  EXPECT_EQ(status_of(ApiErrc::payload_too_large), 413u);
  EXPECT_EQ(status_of(ApiErrc::headers_too_large), 431u);
  EXPECT_EQ(problem_from(make_error(errc::conflict, "x")).code, ApiErrc::conflict);
  EXPECT_EQ(problem_from(make_error(errc::not_found, "x")).code, ApiErrc::not_found);
  auto resp = to_response(problem(ApiErrc::invalid_json, "bad", "vm_uuid"));
  EXPECT_EQ(resp.status, 400u);
  EXPECT_EQ(resp.body, R"({"error":"invalid_json","message":"bad","field":"vm_uuid"})");
}

// Issue 12 #3 and the duplicate-key decision: what parse_* refuses, with the field.
TEST(Json, HostileInvalidUtf8AndDuplicateKeysNameTheField) {
  auto bad = parse_object(std::string(R"({"a":{"b":["ok","x)") + "\xC0\xAF" + R"("]}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.problem().field, "a.b[1]");
  EXPECT_EQ(bad.problem().code, ApiErrc::bad_request);
  auto key = parse_object(std::string(R"({"k)") + "\xFF" + R"(":1})");
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.problem().message.find("UTF-8"), std::string::npos);
  auto dup = parse_object(R"({"a":{"x":1,"x":2}})");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.problem().field, "a.x");
  EXPECT_TRUE(parse_object(R"({"emoji":"\ud83d\ude00","ü":"ß"})").ok());
  // Error bodies stay UTF-8 whatever the message quotes.
  auto r = to_response(problem(ApiErrc::not_found, "no VM '\xFF'"));
  EXPECT_NE(r.body.find("\xEF\xBF\xBD"), std::string::npos) << r.body;
}
