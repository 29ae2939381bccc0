#include "run_hook.hpp"

#include <algorithm>

#include "agent_client.hpp"
#include "migclock/common/text_guard.hpp"
#include "migclock/common/time_source.hpp"
#include "migclock/protocol/local_messages.hpp"

namespace migclock::hook {

namespace {

std::string event_body(const HookCall& c) {
  return protocol::encode(protocol::HookEvent{c.driver, c.id, c.op, c.sub_op, c.extra, c.uuid, SystemTimeSource::instance().realtime_ns()});
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
  auto reply = post_to_agent(s.socket, protocol::kMigrateBeginPath, protocol::encode(protocol::MigrateBeginRequest{c.id, c.xml}),
                             std::min(s.timeout_ms * 2, kMigrateBeginMaxMs));
  if (!reply) return unanswered(s, c, reply.error().message(), err);
  // Depth-capped like every JSON migclock parses (net::parse_any).
  auto answer = protocol::decode<protocol::MigrateBeginReply>(reply->body);
  if (reply->status != 200 || !answer)
    return unanswered(s, c, "agent answered HTTP " + std::to_string(reply->status) + ": " + log_safe(reply->body, 512), err);
  const std::string& action = answer->action;
  if (action == "pin") {
    out = answer->xml;
    if (out.empty()) return unanswered(s, c, "agent said pin but sent no XML", err);
    return 0;
  }
  if (action == "refuse") {
    err = "migclock-hook: migrate begin of '" + log_safe(c.id) + "' refused (policy strict): " +
          log_safe(answer->message, 1024) + "\n";
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
  (void)post_to_agent(settings.socket, protocol::kHookEventsPath, event_body(call), settings.timeout_ms);
  return 0;
}

}  // namespace migclock::hook
