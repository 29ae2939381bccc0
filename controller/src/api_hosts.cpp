// Hosts (registration, heartbeat, clock offsets), VMs, agent commands.
#include <spdlog/spdlog.h>

#include "migclock/controller/api.hpp"
#include "migclock/controller/auth.hpp"
#include "migclock/controller/codec.hpp"
#include "migclock/net/json.hpp"
#include "migclock/protocol/command_messages.hpp"
#include "migclock/protocol/host_messages.hpp"
#include "migclock/serialization/enum_names.hpp"

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
  auto reg = protocol::decode<protocol::HostRegistration>(*body);
  if (!reg) return reg.problem();
  if (reg->hostname != hostname)
    return problem(ApiErrc::bad_request, "body hostname '" + reg->hostname + "' differs from the path", "hostname");
  HostReport rep;
  Host& h = rep.facts;
  h.hostname = reg->hostname;
  h.boot_id = reg->boot_id;
  h.agent_version = reg->agent_version;
  h.tsc_khz = reg->tsc_khz;
  h.scaling_supported = reg->scaling_supported;
  h.clocksource = reg->clocksource;
  h.offset_honoured = serialization::enum_label(reg->offset_honoured);
  h.masterclock_possible = reg->masterclock_possible;
  h.invtsc = reg->invtsc.value_or(h.invtsc);
  h.tsc_khz_source = serialization::enum_label(reg->tsc_khz_source);
  h.kvm = serialization::enum_label(reg->kvm);
  for (auto& v : reg->vms) rep.vms.push_back(VmRef{std::move(v.uuid), std::move(v.name), std::move(v.state)});
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
  route("PUT", "/api/v1/hosts/{hostname}", kAgent, &Api::register_host);
  read_route("GET", "/api/v1/hosts", kRead, &Api::list_hosts);
  read_route("GET", "/api/v1/hosts/{hostname}", kRead | kAgent, &Api::get_host);
  route("POST", "/api/v1/hosts/{hostname}/clock-offset", kAgent, &Api::report_clock_offset);
  read_route("GET", "/api/v1/hosts/{hostname}/clock-offset", kRead | kAgent, &Api::offset_history);
  read_route("GET", "/api/v1/hosts/offset", kRead | kAgent, &Api::host_offset);
  read_route("GET", "/api/v1/vms", kRead, &Api::list_vms);
  read_route("GET", "/api/v1/vms/{uuid}", kRead, &Api::get_vm);
  route("POST", "/api/v1/vms/{uuid}/sync", kWrite, &Api::queue_sync);
  read_route("GET", "/api/v1/commands/{id}", kRead, &Api::get_command);

  // Long poll (docs/protocol.md §4): answer as soon as a command is queued.
  route("GET", "/api/v1/hosts/{hostname}/commands", kAgent, &Api::poll_commands);
  route("POST", "/api/v1/hosts/{hostname}/commands/{id}/result", kAgent, &Api::command_result);
}

void Api::register_host(const Request& req, const Params& p, Responder out) {
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
}

Response Api::list_hosts(const Request&, const Params&) {
  JsonWriter w;
  w.begin_object().key("items").begin_array();
  for (const auto& h : core.hosts()) write(w, h);
  w.end_array().end_object();
  return Response::json(200, w.str());
}

Response Api::get_host(const Request&, const Params& p) {
  auto h = core.host(p.at("hostname"));
  if (!h) return answer(h.error());
  return Response::json(200, host_json(*h));
}

void Api::report_clock_offset(const Request& req, const Params& p, Responder out) {
  if (auto no = not_acting_as(req, p.at("hostname"), "hostname")) return out.send(*no);
  auto body = json_body(req);
  if (!body) return out.send(body.problem());
  auto report = protocol::decode<protocol::ClockOffsetReport>(*body);
  if (!report) return out.send(report.problem());
  ClockOffset o;
  o.offset_ns = report->offset_ns;
  o.uncertainty_ns = report->uncertainty_ns;
  o.rtt_ns = report->rtt_ns;
  o.samples = report->samples;
  o.measured_at_ns = report->measured_at_ns;
  if (o.uncertainty_ns < 0)
    return out.send(problem(ApiErrc::bad_request, "must be >= 0", "uncertainty_ns"));
  if (o.rtt_ns < 0) return out.send(problem(ApiErrc::bad_request, "must be >= 0", "rtt_ns"));
  // Observed once accepted and committed: a refused report is no sample.
  commit<bool>(core.report_offset(p.at("hostname"), o), out, [this, o](const Applied<bool>&) {
    metrics.observe_offset(o.offset_ns, o.uncertainty_ns);
    return Response::no_content();
  });
}

Response Api::offset_history(const Request&, const Params& p) {
  auto h = core.host(p.at("hostname"));
  if (!h) return answer(h.error());
  JsonWriter w;
  w.begin_object().key("hostname").value(p.at("hostname")).key("items").begin_array();
  for (const auto& o : core.offset_history(p.at("hostname"))) write(w, o);
  w.end_array().end_object();
  return Response::json(200, w.str());
}

Response Api::host_offset(const Request& req, const Params&) {
  std::string from = req.query_or("from"), to = req.query_or("to");
  if (from.empty()) return net::to_response(problem(ApiErrc::bad_request, "query parameter from is required", "from"));
  if (to.empty()) return net::to_response(problem(ApiErrc::bad_request, "query parameter to is required", "to"));
  auto o = core.host_offset(from, to);
  if (!o) return answer(o.error());
  JsonWriter w;
  w.begin_object().key("from").value(o->from).key("to").value(o->to).key("offset_ns").value(o->offset_ns)
      .key("uncertainty_ns").value(o->uncertainty_ns).key("measured_at_ns").value(o->measured_at_ns).end_object();
  return Response::json(200, w.str());
}

Response Api::list_vms(const Request& req, const Params&) {
  std::string host = req.query_or("host");
  JsonWriter w;
  w.begin_object().key("items").begin_array();
  for (const auto& v : core.vms())
    if (host.empty() || v.host == host) write(w, v);
  w.end_array().end_object();
  return Response::json(200, w.str());
}

Response Api::get_vm(const Request&, const Params& p) {
  auto v = core.vm(p.at("uuid"));
  if (!v) return answer(v.error());
  return Response::json(200, to_json(*v));
}

void Api::queue_sync(const Request&, const Params& p, Responder out) {
  commit<Command>(core.queue_sync(p.at("uuid")), out,
                  [](const Applied<Command>& a) { return Response::json(202, to_json(a.value)); });
}

Response Api::get_command(const Request&, const Params& p) {
  auto c = core.command(p.at("id"));
  if (!c) return answer(c.error());
  return Response::json(200, to_json(*c));
}

void Api::poll_commands(const Request& req, const Params& p, Responder out) {
  if (auto no = not_acting_as(req, p.at("hostname"), "hostname")) return out.send(*no);
  auto wait_s = query_int(req, "wait_s", 0, 0, 60);
  if (!wait_s) return out.send(wait_s.problem());
  std::string host = p.at("hostname");
  auto send_taken = [this, out](Result<Applied<std::vector<Command>>> taken) {
    commit<std::vector<Command>>(std::move(taken), out, [](const Applied<std::vector<Command>>& a) {
      protocol::CommandBatch batch;
      for (const auto& c : a.value) batch.push_back({c.id, c.kind, c.vm_uuid, c.vm_name});
      return Response::json(200, protocol::encode(batch));
    });
  };
  auto taken = core.take_commands(host);
  if (!taken || !taken->value.empty() || *wait_s == 0) return send_taken(std::move(taken));
  waiters.wait(Core::commands_key(host),
               Waiters::Clock::now() + std::chrono::seconds(*wait_s),
               [this, host, send_taken](bool) { send_taken(core.take_commands(host)); },
               [this, host] { return core.has_queued_commands(host); });
}

void Api::command_result(const Request& req, const Params& p, Responder out) {
  if (auto no = not_acting_as(req, p.at("hostname"), "hostname")) return out.send(*no);
  auto body = json_body(req);
  if (!body) return out.send(body.problem());
  auto result = protocol::decode<protocol::CommandResult>(*body);
  if (!result) return out.send(result.problem());
  CommandResultReport rep{result->ok, std::move(result->message), std::move(result->results_json)};
  if (!rep.results_json.empty())
    if (auto big = results_limits((*body)["results"], rep.results_json)) return out.send(*big);
  commit<Command>(core.command_result(p.at("hostname"), p.at("id"), std::move(rep)), out,
                  [](const Applied<Command>&) { return Response::no_content(); });
}

}  // namespace migclock::controller
