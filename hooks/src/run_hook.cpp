#include "run_hook.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <ctime>

#include "agent_client.hpp"
#include "migclock/common/text_guard.hpp"
#include "migclock/net/json.hpp"

namespace migclock::hook {

namespace {

int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void kv(rapidjson::Writer<rapidjson::StringBuffer>& w, const char* k, const std::string& v) {
  w.Key(k);
  w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
}

std::string event_body(const HookCall& c) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.StartObject();
  kv(w, "object", c.driver);
  kv(w, "name", c.id);
  kv(w, "op", c.op);
  kv(w, "sub_op", c.sub_op);
  kv(w, "extra", c.extra);
  kv(w, "uuid", c.uuid);
  w.Key("sent_at_ns");
  w.Int64(realtime_ns());
  w.EndObject();
  return b.GetString();
}

std::string migrate_body(const HookCall& c) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.StartObject();
  kv(w, "name", c.id);
  kv(w, "xml", c.xml);
  w.EndObject();
  return b.GetString();
}

std::string str(const rapidjson::Document& d, const char* k) {
  return d.HasMember(k) && d[k].IsString() ? std::string(d[k].GetString(), d[k].GetStringLength()) : std::string();
}

// The agent could not give an answer: lenient lets the migration go on with
// the XML as it is; strict stops it before anything moves.
int unanswered(const HookSettings& s, const HookCall& c, const std::string& why, std::string& err) {
  if (!s.strict) return 0;
  // stderr lands in libvirt's log: names and replies escaped and cut.
  err = "migclock-hook: migrate begin of '" + log_safe(c.id) +
        "' refused (policy strict): no answer from the migclock agent at " + s.socket + " (" + s.socket_source +
        "): " + why + "\n";
  return 1;
}

int migrate_begin(const HookCall& c, const HookSettings& s, std::string& out, std::string& err) {
  if (c.xml.empty()) return unanswered(s, c, "no domain XML on stdin", err);
  // The filter waits for the agent a little longer than plain events: it
  // decides whether this migration may proceed.
  auto reply = post_to_agent(s.socket, "/api/v1/hook/migrate-begin", migrate_body(c),
                             std::min(s.timeout_ms * 2, kMigrateBeginMaxMs));
  if (!reply) return unanswered(s, c, reply.error().message(), err);
  // Depth-capped like every JSON migclock parses (net::parse_object).
  auto parsed = net::parse_object(reply->body);
  if (reply->status != 200 || !parsed)
    return unanswered(s, c, "agent answered HTTP " + std::to_string(reply->status) + ": " + log_safe(reply->body, 512), err);
  const rapidjson::Document& d = *parsed;
  const std::string action = str(d, "action");
  if (action == "pin") {
    out = str(d, "xml");
    if (out.empty()) return unanswered(s, c, "agent said pin but sent no XML", err);
    return 0;
  }
  if (action == "refuse") {
    err = "migclock-hook: migrate begin of '" + log_safe(c.id) + "' refused (policy strict): " +
          log_safe(str(d, "message"), 1024) + "\n";
    return 1;
  }
  return 0;  // unchanged: empty stdout keeps libvirt's XML
}

}  // namespace

int run_hook(const HookCall& call, const HookSettings& settings, std::string& out, std::string& err) {
  out.clear();
  err.clear();
  if (is_migrate_begin(call)) return migrate_begin(call, settings, out, err);
  // Every other call is only reported; its outcome never changes libvirt's.
  (void)post_to_agent(settings.socket, "/api/v1/hook/events", event_body(call), settings.timeout_ms);
  return 0;
}

}  // namespace migclock::hook
