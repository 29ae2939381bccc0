#include "agent_link.hpp"

#include "migclock/net/client.hpp"
#include "migclock/net/json.hpp"
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
  const errc code = r.status == 404   ? errc::not_found
                    : r.status == 409 ? errc::conflict
                    : r.status == 400 ? errc::invalid_argument
                                      : errc::unavailable;
  return make_error(code, what + ": agent answered " + std::to_string(r.status) + ": " + message);
}

}  // namespace

Result<std::string> post_snapshot(const std::string& socket, const snapshot::Snapshot& snap) {
  auto json = serialization::encode(snap, serialization::Format::json);
  if (!json) return json.error();
  auto r = call(socket, "POST", "/api/v1/vmm/snapshots", *json);
  if (!r) return r.error();
  if (r->status != 201) return agent_error("POST /api/v1/vmm/snapshots", *r);
  auto doc = net::parse_object(r->body);
  if (!doc.ok() || !doc->HasMember("stored") || !(*doc)["stored"].IsString())
    return make_error(errc::malformed_input, "POST /api/v1/vmm/snapshots: answer without 'stored': " + r->body);
  return std::string((*doc)["stored"].GetString());
}

Result<RestoreInputs> fetch_restore_inputs(const std::string& socket, const std::string& vm) {
  const std::string target = "/api/v1/vmm/restore-inputs?vm=" + net::percent_encode(vm);
  auto r = call(socket, "GET", target);
  if (!r) return r.error();
  if (r->status != 200) return agent_error("GET " + target, *r);
  auto doc = net::parse_object(r->body, 64);
  if (!doc.ok()) return make_error(errc::malformed_input, "GET " + target + ": " + doc.problem().message);
  const rapidjson::Value* snap_json = nullptr;
  RestoreInputs in;
  net::FieldReader f(*doc);
  f.object("snapshot", snap_json, true)
      .int64("realtime_offset_ns", in.realtime_offset_ns)
      .int64("uncertainty_ns", in.uncertainty_ns)
      .string("evidence", in.evidence, false, 4096);
  if (!f.ok()) return make_error(errc::malformed_input, "GET " + target + ": " + f.problem()->message);
  net::JsonWriter w;
  w.value(*snap_json);
  auto snap = serialization::decode(w.str(), serialization::Format::json);
  if (!snap) return snap.error();
  MIGCLOCK_TRY(serialization::validate_status(*snap));
  in.snapshot = std::move(*snap);
  return in;
}

}  // namespace migclock::testvmm
