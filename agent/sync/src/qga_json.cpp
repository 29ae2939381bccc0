#include "migclock/agent_sync/qga_json.hpp"

#include <rapidjson/document.h>

#include "migclock/common/text_guard.hpp"

namespace migclock::agent_sync {

std::string guest_get_time_command() { return R"({"execute":"guest-get-time"})"; }
std::string rtc_reset_reinjection_command() { return R"({"execute":"rtc-reset-reinjection"})"; }
std::string guest_set_time_command(int64_t guest_realtime_ns) {
  return R"({"execute":"guest-set-time","arguments":{"time":)" + std::to_string(guest_realtime_ns) + "}}";
}

namespace {

Result<const rapidjson::Value*> return_value(rapidjson::Document& doc, const std::string& reply, const char* what) {
  // The guest writes this: bound its nesting before the recursive parser.
  if (!json_depth_ok(reply))
    return make_error(errc::malformed_input, std::string(what) + ": reply nests deeper than " +
                                                 std::to_string(kMaxJsonDepth) + " levels");
  doc.Parse(reply.c_str(), reply.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return make_error(errc::malformed_input, std::string(what) + ": reply is not a JSON object: " + reply.substr(0, 200));
  }
  if (auto err = doc.FindMember("error"); err != doc.MemberEnd()) {
    std::string klass, desc;
    if (err->value.IsObject()) {
      if (auto c = err->value.FindMember("class"); c != err->value.MemberEnd() && c->value.IsString()) klass = c->value.GetString();
      if (auto d = err->value.FindMember("desc"); d != err->value.MemberEnd() && d->value.IsString()) desc = d->value.GetString();
    }
    return make_error(errc::io_error, std::string(what) + ": guest answered " + klass + ": " + desc);
  }
  auto ret = doc.FindMember("return");
  if (ret == doc.MemberEnd()) return make_error(errc::malformed_input, std::string(what) + ": reply has no \"return\"");
  return &ret->value;
}

}  // namespace

Result<int64_t> parse_int_return(const std::string& reply, const char* what) {
  rapidjson::Document doc;
  auto v = return_value(doc, reply, what);
  if (!v) return v.error();
  if (!(*v)->IsInt64()) return make_error(errc::malformed_input, std::string(what) + ": \"return\" is not an integer");
  return (*v)->GetInt64();
}

Status parse_empty_return(const std::string& reply, const char* what) {
  rapidjson::Document doc;
  auto v = return_value(doc, reply, what);
  if (!v) return v.error();
  return {};
}

}  // namespace migclock::agent_sync
