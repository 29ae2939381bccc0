#include "migclock/controller/api.hpp"

#include "migclock/common/parse_int.hpp"
#include "migclock/controller/auth.hpp"
#include "migclock/net/json.hpp"
#include "migclock/serialization/snapshot_io.hpp"

namespace migclock::controller {

using net::ApiErrc;
using net::problem;

Api::Api(Core& c, Journal& j, Waiters& w, Metrics& m) : core(c), journal(j), waiters(w), metrics(m) {
  add_misc_routes();
  add_host_routes();
  add_migration_routes();
}

std::size_t Api::body_limit_for(const std::string& method, const std::string& path) const {
  constexpr std::size_t kDefault = 1u << 20;
  if (method == "PUT" && path.size() > 9 && path.compare(path.size() - 9, 9, "/snapshot") == 0)
    return serialization::kMaxEncodedBytes;
  return kDefault;
}

std::string Api::route_label(const net::Match& m) {
  return m.route ? m.route->pattern : (m.allow.empty() ? "unmatched" : "method_not_allowed");
}

std::optional<net::Response> Api::gate(const net::Request& req, const net::Match& m) {
  if (!m.route) {
    auto r = net::to_response(m.problem);
    if (!m.allow.empty()) r.headers.emplace_back("Allow", m.allow);
    return r;
  }
  if (m.route->tag == kPublic) return std::nullopt;
  // Two Authorization headers: which one a proxy checked is unknowable.
  std::size_t auths = 0;
  for (const auto& [name, value] : req.headers) auths += name == "authorization";
  if (auths > 1) return net::to_response(problem(ApiErrc::bad_request, "more than one Authorization header"));
  std::string token = req.bearer_token();
  if (token.empty())
    return net::to_response(problem(ApiErrc::unauthorized, "missing bearer token (Authorization: Bearer <token>)"));
  auto scope = core.token_scope(token);
  if (!scope) return net::to_response(problem(ApiErrc::unauthorized, "unknown or revoked token"));
  if (!scope_allows(*scope, m.route->tag))
    return net::to_response(problem(ApiErrc::forbidden, std::string("a token of scope '") + scope_name(*scope) +
                                                            "' may not " + req.method + " " + m.route->pattern));
  return std::nullopt;
}

std::optional<net::Response> Api::refuse_before_body(const net::Request& head) {
  auto m = router_.match(head.method, head.path);
  auto refusal = gate(head, m);
  if (refusal) metrics.count_request(route_label(m), refusal->status);
  return refusal;
}

void Api::handle(net::Request&& req, net::Responder out) {
  auto m = router_.match(req.method, req.path);
  net::Responder counted([this, label = route_label(m), out = std::move(out)](net::Response r) {
    metrics.count_request(label, r.status);
    out.send(std::move(r));
  });
  if (auto refusal = gate(req, m)) return counted.send(std::move(*refusal));
  m.handler(req, m.params, counted);
}

void Api::reply(const net::Responder& out, net::Response r) {
  journal.when_committed(journal.last_appended(), [out, r = std::move(r)](const Status& st) mutable {
    if (!st.ok() && !is_conflict(st)) return out.send(problem(ApiErrc::unavailable, "journal commit failed: " + st.error().message()));
    out.send(std::move(r));
  });
}

std::optional<std::string> Api::agent_host(const net::Request& req) {
  auto t = core.token(req.bearer_token());
  if (!t || t->scope != Scope::agent) return std::nullopt;
  return t->host;
}

std::optional<net::Problem> Api::not_acting_as(const net::Request& req, const std::string& host, const char* field) {
  auto mine = agent_host(req);
  if (!mine || *mine == host) return std::nullopt;
  if (mine->empty())
    return problem(ApiErrc::forbidden, "this agent token is not bound to a host yet: it binds to the host of its first "
                                       "heartbeat (PUT /api/v1/hosts/{hostname})", field);
  return problem(ApiErrc::forbidden, "this agent token acts for host '" + *mine + "' only, not '" + host + "'", field);
}

void Api::route(std::string method, std::string pattern, unsigned tag, AsyncMember h) {
  router_.add(std::move(method), std::move(pattern), tag,
              [this, h](const net::Request& req, const net::Params& p, net::Responder out) {
                (this->*h)(req, p, std::move(out));
              });
}

void Api::read_route(std::string method, std::string pattern, unsigned tag, ReadMember h) {
  add_read(std::move(method), std::move(pattern), tag,
           [this, h](const net::Request& req, const net::Params& p) { return (this->*h)(req, p); });
}

void Api::add_read(std::string method, std::string pattern, unsigned tag, net::Router::SyncHandler h) {
  router_.add(std::move(method), std::move(pattern), tag,
              [this, h = std::move(h)](const net::Request& req, const net::Params& p, const net::Responder& out) {
                reply(out, h(req, p));
              });
}

net::Problem problem_of(const Error& e) {
  net::Problem p = net::problem_from(e);
  if (!e.context.empty()) p.message = e.context;
  return p;
}

net::Problem commit_failure(const Error& e) {
  if (e.code == make_error_code(errc::conflict))
    return problem(ApiErrc::conflict, "a concurrent change through another controller won: " + e.message() +
                                          "; read the record again and retry");
  return problem(ApiErrc::unavailable, "journal commit failed: " + e.message());
}

net::Outcome<rapidjson::Document> json_body(const net::Request& req) {
  std::string ct = req.header("content-type");
  if (ct.rfind("application/json", 0) != 0)
    return problem(ApiErrc::unsupported_media_type,
                   "expected Content-Type application/json, got " + (ct.empty() ? std::string("none") : "'" + ct + "'"));
  if (req.body.empty()) return problem(ApiErrc::invalid_json, "request body is empty; a JSON object is required");
  return net::parse_object(req.body);
}

net::Outcome<int64_t> query_int(const net::Request& req, const std::string& name, int64_t fallback, int64_t lo,
                                int64_t hi) {
  auto it = req.query.find(name);
  if (it == req.query.end()) return fallback;
  const auto v = parse_int(it->second, lo, hi);
  if (!v)
    return problem(ApiErrc::bad_request,
                   "query parameter " + name + " must be an integer in [" + std::to_string(lo) + ", " +
                       std::to_string(hi) + "]",
                   name);
  return *v;
}

std::optional<net::Problem> results_limits(const rapidjson::Value& results, const std::string& json) {
  if (results.IsObject() && results.MemberCount() > kMaxResultKeys)
    return problem(ApiErrc::bad_request, "results has more than " + std::to_string(kMaxResultKeys) + " keys", "results");
  if (json.size() > kMaxResultBytes)
    return problem(ApiErrc::payload_too_large, "results over " + std::to_string(kMaxResultBytes) + " bytes", "results");
  return std::nullopt;
}

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) return false;
  return true;
}

}  // namespace migclock::controller
