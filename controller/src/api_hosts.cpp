// Hosts (registration, heartbeat, clock offsets), VMs, agent commands.
#include <spdlog/spdlog.h>

#include "migclock/controller/api.hpp"
#include "migclock/controller/auth.hpp"
#include "migclock/controller/codec.hpp"
#include "migclock/net/json.hpp"

namespace migclock::controller {

using net::ApiErrc;
using net::JsonWriter;
using net::Params;
using net::problem;
using net::Request;
using net::Responder;
using net::Response;

namespace {

net::Outcome<HostReport> parse_host_report(const Request& req, const std::string& hostname) {
  auto body = json_body(req);
  if (!body) return body.problem();
  HostReport rep;
  Host& h = rep.facts;
  const rapidjson::Value* vms = nullptr;
  net::FieldReader r(*body);
  r.string("hostname", h.hostname).string("boot_id", h.boot_id, false).string("agent_version", h.agent_version, false)
      .uint32("tsc_khz", h.tsc_khz).boolean("scaling_supported", h.scaling_supported)
      .string("clocksource", h.clocksource, false).one_of("offset_honoured", h.offset_honoured, "yes,no,unknown")
      .boolean("masterclock_possible", h.masterclock_possible).one_of("invtsc", h.invtsc, "yes,no,unknown", false)
      .one_of("tsc_khz_source", h.tsc_khz_source, "unknown,kvm,libvirt_capabilities,cpuid,calibration,unrecorded", false)
      .one_of("kvm", h.kvm, "present,absent,unrecorded", false)
      .array("vms", vms);
  if (!r.ok()) return *r.problem();
  if (h.hostname != hostname)
    return problem(ApiErrc::bad_request, "body hostname '" + h.hostname + "' differs from the path", "hostname");
  if (vms) {
    if (vms->Size() > 4096) return problem(ApiErrc::bad_request, "more than 4096 VMs", "vms");
    for (rapidjson::SizeType i = 0; i < vms->Size(); ++i) {
      VmRef v;
      net::FieldReader vr((*vms)[i], "vms[" + std::to_string(i) + "]");
      vr.string("uuid", v.uuid).string("name", v.name).string("state", v.state, false);
      if (!vr.ok()) return *vr.problem();
      if (v.uuid.empty()) return problem(ApiErrc::bad_request, "empty uuid", vr.field_name("uuid"));
      rep.vms.push_back(std::move(v));
    }
  }
  return rep;
}

std::string host_json(const Host& h) {
  JsonWriter w;
  w.begin_object().key("host");
  write(w, h);
  w.end_object();
  return w.str();
}

}  // namespace

void Api::add_host_routes() {
  router_.add("PUT", "/api/v1/hosts/{hostname}", kAgent, [this](const Request& req, const Params& p, Responder out) {
    if (!valid_name(p.at("hostname"))) return out.send(problem(ApiErrc::bad_request, "bad hostname", "hostname"));
    auto mine = agent_host(req);
    if (mine && !mine->empty()) {
      if (auto no = not_acting_as(req, p.at("hostname"), "hostname")) return out.send(*no);
    }
    auto rep = parse_host_report(req, p.at("hostname"));
    if (!rep) return out.send(rep.problem());
    if (mine && mine->empty()) {
      // Migration of tokens from before host binding: bound now, for good.
      spdlog::warn("a legacy agent token (no --host) is now bound to host '{}', its first heartbeat; create per-host "
                   "tokens with `token create --scope agent --host NAME`", p.at("hostname"));
      rep->bind_token_hash = sha256_hex(req.bearer_token());
    }
    commit_op<Host>([this, r = std::move(rep).value()] { return core.register_host(r); }, out,
                 [](const Applied<Host>& a) { return Response::json(200, host_json(a.value)); });
  });

  add_read("GET", "/api/v1/hosts", kRead, [this](const Request&, const Params&) {
    JsonWriter w;
    w.begin_object().key("items").begin_array();
    for (const auto& h : core.hosts()) write(w, h);
    w.end_array().end_object();
    return Response::json(200, w.str());
  });

  add_read("GET", "/api/v1/hosts/{hostname}", kRead | kAgent, [this](const Request&, const Params& p) {
    auto h = core.host(p.at("hostname"));
    if (!h) return net::to_response(h.problem());
    return Response::json(200, host_json(*h));
  });

  router_.add("POST", "/api/v1/hosts/{hostname}/clock-offset", kAgent,
              [this](const Request& req, const Params& p, Responder out) {
                if (auto no = not_acting_as(req, p.at("hostname"), "hostname")) return out.send(*no);
                auto body = json_body(req);
                if (!body) return out.send(body.problem());
                ClockOffset o;
                net::FieldReader r(*body);
                r.int64("offset_ns", o.offset_ns).int64("uncertainty_ns", o.uncertainty_ns)
                    .int64("rtt_ns", o.rtt_ns, false).int64("samples", o.samples, false)
                    .int64("measured_at_ns", o.measured_at_ns);
                if (!r.ok()) return out.send(*r.problem());
                if (o.uncertainty_ns < 0)
                  return out.send(problem(ApiErrc::bad_request, "must be >= 0", "uncertainty_ns"));
                if (o.rtt_ns < 0) return out.send(problem(ApiErrc::bad_request, "must be >= 0", "rtt_ns"));
                // Observed once accepted and committed: a refused report is no sample.
                commit<bool>(core.report_offset(p.at("hostname"), o), out, [this, o](const Applied<bool>&) {
                  metrics.observe_offset(o.offset_ns, o.uncertainty_ns);
                  return Response::no_content();
                });
              });

  add_read("GET", "/api/v1/hosts/{hostname}/clock-offset", kRead | kAgent,
                   [this](const Request&, const Params& p) {
                     auto h = core.host(p.at("hostname"));
                     if (!h) return net::to_response(h.problem());
                     JsonWriter w;
                     w.begin_object().key("hostname").value(p.at("hostname")).key("items").begin_array();
                     for (const auto& o : core.offset_history(p.at("hostname"))) write(w, o);
                     w.end_array().end_object();
                     return Response::json(200, w.str());
                   });

  add_read("GET", "/api/v1/hosts/offset", kRead | kAgent, [this](const Request& req, const Params&) {
    std::string from = req.query_or("from"), to = req.query_or("to");
    if (from.empty()) return net::to_response(problem(ApiErrc::bad_request, "query parameter from is required", "from"));
    if (to.empty()) return net::to_response(problem(ApiErrc::bad_request, "query parameter to is required", "to"));
    auto o = core.host_offset(from, to);
    if (!o) return net::to_response(o.problem());
    JsonWriter w;
    w.begin_object().key("from").value(o->from).key("to").value(o->to).key("offset_ns").value(o->offset_ns)
        .key("uncertainty_ns").value(o->uncertainty_ns).key("measured_at_ns").value(o->measured_at_ns).end_object();
    return Response::json(200, w.str());
  });

  add_read("GET", "/api/v1/vms", kRead, [this](const Request& req, const Params&) {
    std::string host = req.query_or("host");
    JsonWriter w;
    w.begin_object().key("items").begin_array();
    for (const auto& v : core.vms())
      if (host.empty() || v.host == host) write(w, v);
    w.end_array().end_object();
    return Response::json(200, w.str());
  });

  add_read("GET", "/api/v1/vms/{uuid}", kRead, [this](const Request&, const Params& p) {
    auto v = core.vm(p.at("uuid"));
    if (!v) return net::to_response(v.problem());
    return Response::json(200, to_json(*v));
  });

  router_.add("POST", "/api/v1/vms/{uuid}/sync", kWrite, [this](const Request&, const Params& p, Responder out) {
    commit<Command>(core.queue_sync(p.at("uuid")), out,
                    [](const Applied<Command>& a) { return Response::json(202, to_json(a.value)); });
  });

  add_read("GET", "/api/v1/commands/{id}", kRead, [this](const Request&, const Params& p) {
    auto c = core.command(p.at("id"));
    if (!c) return net::to_response(c.problem());
    return Response::json(200, to_json(*c));
  });

  // Long poll (docs/protocol.md §4): answer as soon as a command is queued.
  router_.add("GET", "/api/v1/hosts/{hostname}/commands", kAgent,
              [this](const Request& req, const Params& p, Responder out) {
                if (auto no = not_acting_as(req, p.at("hostname"), "hostname")) return out.send(*no);
                auto wait_s = query_int(req, "wait_s", 0, 0, 60);
                if (!wait_s) return out.send(wait_s.problem());
                std::string host = p.at("hostname");
                auto reply = [this, out](net::Outcome<Applied<std::vector<Command>>> taken) {
                  commit<std::vector<Command>>(std::move(taken), out, [](const Applied<std::vector<Command>>& a) {
                    JsonWriter w;
                    w.begin_array();
                    for (const auto& c : a.value)
                      w.begin_object().key("id").value(c.id).key("kind").value(c.kind).key("vm_uuid")
                          .value(c.vm_uuid).key("vm_name").value(c.vm_name).end_object();
                    w.end_array();
                    return Response::json(200, w.str());
                  });
                };
                auto taken = core.take_commands(host);
                if (!taken || !taken->value.empty() || *wait_s == 0) return reply(std::move(taken));
                waiters.wait(Core::commands_key(host),
                             Waiters::Clock::now() + std::chrono::seconds(*wait_s),
                             [this, host, reply](bool) { reply(core.take_commands(host)); },
                             [this, host] { return core.has_queued_commands(host); });
              });

  router_.add("POST", "/api/v1/hosts/{hostname}/commands/{id}/result", kAgent,
              [this](const Request& req, const Params& p, Responder out) {
                if (auto no = not_acting_as(req, p.at("hostname"), "hostname")) return out.send(*no);
                auto body = json_body(req);
                if (!body) return out.send(body.problem());
                CommandResultReport rep;
                const rapidjson::Value* results = nullptr;
                net::FieldReader r(*body);
                r.boolean("ok", rep.ok).string("message", rep.message, false, kMaxReasonBytes).object("results", results);
                if (!r.ok()) return out.send(*r.problem());
                if (results) {
                  rep.results_json = net::to_string(*results);
                  if (auto big = results_limits(*results, rep.results_json)) return out.send(*big);
                }
                commit<Command>(core.command_result(p.at("hostname"), p.at("id"), std::move(rep)), out,
                                [](const Applied<Command>&) { return Response::no_content(); });
              });
}

}  // namespace migclock::controller
