// Migrations: announce, phase events, snapshot upload/download, listing,
// watching (long poll on the version), restore inputs.
#include "migclock/controller/api.hpp"
#include "migclock/controller/auth.hpp"
#include "migclock/controller/codec.hpp"
#include "migclock/net/json.hpp"
#include "migclock/protocol/migration_messages.hpp"
#include "migclock/serialization/snapshot_io.hpp"
#include "migclock/serialization/validate.hpp"

namespace migclock::controller {

using net::ApiErrc;
using net::JsonWriter;
using net::Params;
using net::problem;
using net::Request;
using net::Responder;
using net::Response;

namespace {

using protocol::kSnapshotContentType;

struct Uploaded {
  serialization::Format format;
  std::string vm_key;  // vm.uuid, or vm.name without one: what the agent announces with
};

// Decode + validate an uploaded snapshot; the Problem names what is wrong.
net::Outcome<Uploaded> check_snapshot(const Request& req) {
  std::string ct = req.header("content-type");
  serialization::Format f;
  if (ct.rfind(kSnapshotContentType, 0) == 0 || ct.rfind("application/octet-stream", 0) == 0) f = serialization::Format::binary;
  else if (ct.rfind("application/json", 0) == 0) f = serialization::Format::json;
  else
    return problem(ApiErrc::unsupported_media_type,
                   "snapshot Content-Type must be " + std::string(kSnapshotContentType) + " or application/json, got '" + ct + "'");
  auto snap = serialization::decode(req.body, f);
  if (!snap) return problem(ApiErrc::bad_request, "snapshot does not decode: " + snap.error().message(), "snapshot");
  auto errors = serialization::validate(*snap);
  if (!errors.empty()) {
    std::string msg = "snapshot fails validation:";
    for (const auto& e : errors) msg += " " + e.to_string() + ";";
    return problem(ApiErrc::bad_request, msg, "snapshot." + errors.front().field);
  }
  return Uploaded{f, snap->vm.uuid.empty() ? snap->vm.name : snap->vm.uuid};
}

std::string page_json(const MigrationPage& page) {
  JsonWriter w;
  w.begin_object().key("items").begin_array();
  for (const auto& m : page.items) write(w, m);
  w.end_array().key("total").value(static_cast<uint64_t>(page.total)).key("next_offset");
  if (page.next_offset) w.value(static_cast<uint64_t>(*page.next_offset));
  else w.null();
  w.end_object();
  return w.str();
}

// {migration_id, source, destination, snapshot (JSON), realtime_offset_ns
// (destination − source), uncertainty_ns, measured_at_ns} (docs/api.md).
net::Outcome<std::string> restore_inputs_json(const Core& core, const Migration& m, const std::string& dest) {
  auto stored = core.snapshot_bytes(m.id);
  if (!stored) return problem_of(stored.error());
  std::string json = stored->first;
  if (stored->second != serialization::Format::json) {
    auto snap = serialization::decode(stored->first, serialization::Format::binary);
    if (!snap) return net::problem_from(snap.error());
    auto enc = serialization::encode(*snap, serialization::Format::json);
    if (!enc) return net::problem_from(enc.error());
    json = std::move(*enc);
  }
  auto off = core.host_offset(m.source, dest);
  if (!off) {
    // host_offset speaks of from/to; here they are the migration's ends.
    net::Problem pr = problem_of(off.error());
    pr.field = pr.field == "from" ? "source" : pr.field == "to" ? "destination" : pr.field;
    return pr;
  }
  return protocol::encode(protocol::RestoreInputs{m.id, m.source, dest, std::move(json), off->offset_ns,
                                                 off->uncertainty_ns, off->measured_at_ns});
}

}  // namespace

void Api::add_migration_routes() {
  route("POST", "/api/v1/migrations", kAgent | kWrite, &Api::announce_migration);
  read_route("GET", "/api/v1/migrations", kRead | kAgent, &Api::list_migrations);

  // Watch: ?since_version=V&wait_s=N answers when version > V or at the deadline.
  route("GET", "/api/v1/migrations/{id}", kRead | kAgent, &Api::watch_migration);
  route("POST", "/api/v1/migrations/{id}/events", kAgent | kWrite, &Api::report_phase_event);
  route("PUT", "/api/v1/migrations/{id}/snapshot", kAgent, &Api::put_snapshot);
  read_route("GET", "/api/v1/migrations/{id}/snapshot", kRead | kAgent, &Api::get_snapshot);

  // The destination of an owned-VMM restore asks for its inputs. Only the
  // recorded destination may (or the first to ask, which becomes it).
  route("GET", "/api/v1/migrations/{id}/restore-inputs", kAgent, &Api::get_restore_inputs);
}

void Api::announce_migration(const Request& req, const Params&, Responder out) {
  auto body = json_body(req);
  if (!body) return out.send(body.problem());
  auto wire = protocol::decode<protocol::MigrationAnnounce>(*body);
  if (!wire) return out.send(wire.problem());
  Announce a;
  a.vm_uuid = std::move(wire->vm_uuid);
  a.vm_name = std::move(wire->vm_name);
  a.source = std::move(wire->source);
  a.destination = std::move(wire->destination);
  a.kind = std::move(wire->kind);
  if (a.vm_uuid.empty()) return out.send(problem(ApiErrc::bad_request, "must not be empty", "vm_uuid"));
  if (!valid_name(a.source)) return out.send(problem(ApiErrc::bad_request, "bad host name", "source"));
  if (!a.destination.empty() && !valid_name(a.destination))
    return out.send(problem(ApiErrc::bad_request, "bad host name", "destination"));
  auto scope = core.token_scope(req.bearer_token());
  a.created_by = scope == Scope::agent ? "agent" : "operator";
  if (auto mine = agent_host(req)) {
    // An agent announces its own migrations: as their source, or as the
    // destination it is.
    if (mine->empty() || (*mine != a.source && *mine != a.destination))
      if (auto no = not_acting_as(req, a.source, "source")) return out.send(*no);
    a.by_host = *mine;
  }
  commit_op<Migration>([this, a] { return core.announce(a); }, out, [](const Applied<Migration>& ap) {
    return Response::json(ap.created ? 201 : 200, to_json(ap.value));
  });
}

Response Api::list_migrations(const Request& req, const Params&) {
  MigrationQuery q;
  q.vm = req.query_or("vm");
  q.host = req.query_or("host");
  if (auto ph = req.query_or("phase"); !ph.empty()) {
    q.phase = phase_from(ph);
    if (!q.phase) return net::to_response(problem(ApiErrc::bad_request, "unknown phase '" + ph + "'", "phase"));
  }
  if (auto act = req.query_or("active"); !act.empty()) {
    if (act != "true" && act != "false")
      return net::to_response(problem(ApiErrc::bad_request, "active must be true or false", "active"));
    q.active = act == "true";
  }
  auto limit = query_int(req, "limit", 50, 1, 500);
  if (!limit) return net::to_response(limit.problem());
  auto offset = query_int(req, "offset", 0, 0, INT32_MAX);
  if (!offset) return net::to_response(offset.problem());
  q.limit = static_cast<size_t>(*limit);
  q.offset = static_cast<size_t>(*offset);
  return Response::json(200, page_json(core.migrations(q)));
}

void Api::watch_migration(const Request& req, const Params& p, Responder out) {
  auto wait_s = query_int(req, "wait_s", 0, 0, 60);
  if (!wait_s) return out.send(wait_s.problem());
  auto since = query_int(req, "since_version", -1, -1, INT64_MAX);
  if (!since) return out.send(since.problem());
  std::string id = p.at("id");
  // ?consistent=true: linearizable (several controllers on etcd: read from the cluster first).
  if (req.query_or("consistent") == "true")
    if (auto st = core.read_fresh(Table::migrations, id); !st.ok())
      return out.send(problem(ApiErrc::unavailable, "consistent read: " + st.error().message()));
  auto m = core.migration(id);
  if (!m) return reply(out, answer(m.error()));
  if (*wait_s == 0 || *since < 0 || m->version > *since) return reply(out, Response::json(200, to_json(*m)));
  int64_t v = *since;
  auto deadline = Waiters::Clock::now() + std::chrono::seconds(*wait_s);
  auto changed = [this, id, v] {
    auto m2 = core.migration(id);
    return !m2.ok() || m2->version > v;
  };
  auto again = std::make_shared<std::function<void(bool)>>();
  *again = [this, id, v, out, deadline, again, changed](bool timed_out) {
    auto now_m = core.migration(id);
    if (!now_m) {
      *again = nullptr;
      return reply(out, answer(now_m.error()));
    }
    if (timed_out || now_m->version > v || Waiters::Clock::now() >= deadline) {
      *again = nullptr;  // break the self-reference
      return reply(out, Response::json(200, to_json(*now_m)));
    }
    waiters.wait(Core::migration_key(id), deadline, *again, changed);
  };
  waiters.wait(Core::migration_key(id), deadline, *again, changed);
}

void Api::report_phase_event(const Request& req, const Params& p, Responder out) {
  auto body = json_body(req);
  if (!body) return out.send(body.problem());
  auto event = protocol::decode<protocol::PhaseEvent>(*body);
  if (!event) return out.send(event.problem());
  PhaseReport rep;
  rep.phase = event->phase;
  rep.host = std::move(event->host);
  rep.at_ns = event->at_ns;
  rep.reason = std::move(event->reason);
  rep.results_json = std::move(event->results_json);
  if (!valid_name(rep.host)) return out.send(problem(ApiErrc::bad_request, "bad host name", "host"));
  if (auto no = not_acting_as(req, rep.host, "host")) return out.send(*no);
  rep.actor = agent_host(req).value_or("");
  if ((rep.phase == Phase::failed || rep.phase == Phase::degraded) && rep.reason.empty())
    return out.send(problem(ApiErrc::bad_request,
                            std::string("a reason is required for ") + phase_name(rep.phase), "reason"));
  if (!rep.results_json.empty())
    if (auto big = results_limits((*body)["results"], rep.results_json)) return out.send(*big);
  commit_op<Migration>([this, id = p.at("id"), rep] { return core.report_phase(id, rep); }, out,
                       [](const Applied<Migration>& a) { return Response::json(200, to_json(a.value)); });
}

void Api::put_snapshot(const Request& req, const Params& p, Responder out) {
  // The source captures; no other host may put words in its mouth.
  // (An unknown id is put_snapshot's 404, after the body is judged.)
  // Both refusals read the migration: answered once it is committed (reply()).
  auto m = core.migration(p.at("id"));
  if (m)
    if (auto no = not_acting_as(req, m->source, "source")) return reply(out, net::to_response(*no));
  auto up = check_snapshot(req);
  if (!up) return out.send(up.problem());
  // Another VM's clock state would be restored into this one. (Not the
  // host: an owned VMM names the machine, its agent may go by --hostname;
  // the uploader is the source by its token.)
  if (m && up->vm_key != m->vm_uuid)
    return reply(out, net::to_response(problem(ApiErrc::conflict,
                                               "the snapshot is of VM '" + up->vm_key + "', migration " + m->id +
                                                   " moves '" + m->vm_uuid + "'",
                                               "snapshot.vm.uuid")));
  commit_op<Migration>([this, id = p.at("id"), body = req.body, f = up->format] { return core.put_snapshot(id, body, f); },
                       out, [](const Applied<Migration>& a) { return Response::json(200, to_json(a.value)); });
}

Response Api::get_snapshot(const Request& req, const Params& p) {
  auto stored = core.snapshot_bytes(p.at("id"));
  if (!stored) return answer(stored.error());
  using serialization::Format;
  auto& [bytes, format] = *stored;
  std::string accept = req.header("accept");
  bool want_json = accept.find("application/json") != std::string::npos;
  bool want_env = accept.find(kSnapshotContentType) != std::string::npos || accept.find("application/octet-stream") != std::string::npos;
  bool any = accept.empty() || accept.find("*/*") != std::string::npos;
  if (!want_json && !want_env && !any)
    return net::to_response(problem(ApiErrc::not_acceptable, "Accept must allow application/json or " + std::string(kSnapshotContentType)));
  const Format target = want_json && !want_env ? Format::json : want_env && !want_json ? Format::binary : format;
  const char* type = target == Format::json ? protocol::kJsonContentType : kSnapshotContentType;
  if (target == format) return Response::text(200, bytes, type);
  auto snap = serialization::decode(bytes, format);
  if (!snap) return net::to_response(net::problem_from(snap.error()));
  auto enc = serialization::encode(*snap, target);
  if (!enc) return net::to_response(net::problem_from(enc.error()));
  return Response::text(200, std::move(*enc), type);
}

void Api::get_restore_inputs(const Request& req, const Params& p, Responder out) {
  std::string dest = req.query_or("destination");
  if (dest.empty()) return out.send(problem(ApiErrc::bad_request, "query parameter destination is required", "destination"));
  if (!valid_name(dest)) return out.send(problem(ApiErrc::bad_request, "bad host name", "destination"));
  if (auto no = not_acting_as(req, dest, "destination")) return out.send(*no);
  const std::string& id = p.at("id");
  auto m = core.migration(id);
  if (!m) return reply(out, answer(m.error()));
  // Refused before the work; claim_destination decides for good.
  if (auto wrong = Core::destination_mismatch(*m, dest)) return reply(out, answer(*wrong));
  auto inputs = restore_inputs_json(core, *m, dest);
  if (!inputs) return reply(out, net::to_response(inputs.problem()));
  commit_op<Migration>([this, id, dest] { return core.claim_destination(id, dest); }, out,
                       [body = std::move(*inputs)](const Applied<Migration>&) { return Response::json(200, body); });
}

}  // namespace migclock::controller
