#include "agent_link.hpp"

#include "migclock/net/client.hpp"
#include "migclock/net/json.hpp"
#include "migclock/net/problem.hpp"
#include "migclock/protocol/local_messages.hpp"
#include "migclock/serialization/snapshot_io.hpp"
#include "migclock/serialization/validate.hpp"

namespace migclock::testvmm {
namespace {

Result<net::Response> call(const std::string& socket, const std::string& method, const std::string& target,
                           const std::string& body = {}) {
  net::ClientOptions o("unix:" + socket);
  o.timeout = std::chrono::milliseconds(10'000);
  net::Client client(o);
  auto r = client.request(method, target, body);
  if (!r) return make_error(errc::unavailable, "agent at " + socket + ": " + r.error().message());
  return r;
}

// The agent's errors are {"error", "message"}: pass its message on.
Error agent_error(const std::string& what, const net::Response& r) {
  std::string message = r.body;
  auto doc = net::parse_object(r.body);
  if (doc.ok() && doc->HasMember("message") && (*doc)["message"].IsString()) message = (*doc)["message"].GetString();
  return make_error(net::errc_from_status(r.status), what + ": agent answered " + std::to_string(r.status) + ": " + message);
}

}  // namespace

Result<std::string> post_snapshot(const std::string& socket, const snapshot::Snapshot& snap) {
  const std::string what = std::string("POST ") + protocol::kVmmSnapshotsPath;
  auto json = serialization::encode(snap, serialization::Format::json);
  if (!json) return json.error();
  auto r = call(socket, "POST", protocol::kVmmSnapshotsPath, *json);
  if (!r) return r.error();
  if (r->status != 201) return agent_error(what, *r);
  auto stored = protocol::parse<protocol::VmmSnapshotStored>(r->body, what);
  MIGCLOCK_TRY(stored);
  return stored->stored;
}

Result<RestoreInputs> fetch_restore_inputs(const std::string& socket, const std::string& vm) {
  const std::string target = std::string(protocol::kVmmRestoreInputsPath) + "?vm=" + net::percent_encode(vm);
  auto r = call(socket, "GET", target);
  if (!r) return r.error();
  if (r->status != 200) return agent_error("GET " + target, *r);
  auto wire = protocol::parse<protocol::VmmRestoreInputs>(r->body, "GET " + target, protocol::kMaxDepthWithSnapshot);
  MIGCLOCK_TRY(wire);
  auto snap = serialization::decode(wire->snapshot_json, serialization::Format::json);
  if (!snap) return snap.error();
  MIGCLOCK_TRY(serialization::validate_status(*snap));
  return RestoreInputs{std::move(*snap), wire->realtime_offset_ns, wire->uncertainty_ns, std::move(wire->evidence)};
}

}  // namespace migclock::testvmm
