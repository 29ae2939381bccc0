// /healthz, /readyz, /metrics, the clock exchange, preflight.
#include "migclock/controller/api.hpp"
#include "migclock/controller/auth.hpp"
#include "migclock/net/json.hpp"
#include "migclock/protocol/host_messages.hpp"

namespace migclock::controller {

using net::ApiErrc;
using net::JsonWriter;
using net::Params;
using net::problem;
using net::Request;
using net::Response;

void Api::add_misc_routes() {
  router_.add_sync("GET", "/healthz", kPublic, [](const Request&, const Params&) {
    return Response::json(200, R"({"status":"ok"})");
  });
  router_.add_sync("GET", "/readyz", kPublic, [this](const Request&, const Params&) {
    bool ok = ready.load() && journal.healthy();
    JsonWriter w;
    w.begin_object().key("ready").value(ok).key("journal").value(journal.healthy() ? "ok" : "failing").end_object();
    return Response::json(ok ? 200 : 503, w.str());
  });
  // Not through reply(): metrics must stay readable when the journal fails.
  router_.add_sync("GET", "/metrics", kRead, [this](const Request&, const Params&) {
    std::string body = metrics.render(core.phase_counts());
    body += Metrics::render_hosts(core.hosts(), core.time().realtime_ns());
    return Response::text(200, body, "text/plain; version=0.0.4; charset=utf-8");
  });

  // NTP-style exchange (docs/protocol.md §2): t2 when the handler starts,
  // t3 just before the answer is serialized.
  router_.add_sync("POST", "/api/v1/time", kAgent, [this](const Request& req, const Params&) {
    int64_t t2 = core.time().realtime_ns();
    auto body = json_body(req);
    if (!body) return net::to_response(body.problem());
    auto request = protocol::decode<protocol::TimeRequest>(*body);
    if (!request) return net::to_response(request.problem());
    return Response::json(200, protocol::encode(protocol::TimeReply{request->t1_ns, t2, core.time().realtime_ns()}));
  });

  add_read("POST", "/api/v1/preflight", kRead, [this](const Request& req, const Params&) {
    auto body = json_body(req);
    if (!body) return net::to_response(body.problem());
    std::string vm, source, destination;
    net::FieldReader r(*body);
    r.string("vm", vm).string("source", source).string("destination", destination);
    if (!r.ok()) return net::to_response(*r.problem());
    auto res = core.preflight_checked(vm, source, destination);
    if (!res) return answer(res.error());
    JsonWriter w;
    w.begin_object().key("compatible").value(res->compatible).key("vm").value(vm)
        .key("vm_uuid").value(res->vm_uuid).key("source").value(source).key("destination").value(destination);
    w.key("reasons").begin_array();
    for (const auto& c : res->checks)
      if (!c.ok) w.value(c.name + ": " + c.detail);
    w.end_array();
    w.key("checks").begin_array();
    for (const auto& c : res->checks)
      w.begin_object().key("name").value(c.name).key("ok").value(c.ok).key("detail").value(c.detail).end_object();
    w.end_array();
    w.key("realtime_offset_ns");
    if (res->offset) w.value(res->offset->offset_ns); else w.null();
    w.key("uncertainty_ns");
    if (res->offset) w.value(res->offset->uncertainty_ns); else w.null();
    w.end_object();
    return Response::json(200, w.str());
  });
}

}  // namespace migclock::controller
