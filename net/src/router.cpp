#include "migclock/net/router.hpp"

namespace migclock::net {

namespace {
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') { ++i; continue; }
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}
bool is_param(const std::string& seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }
}  // namespace

void Router::add(std::string method, std::string pattern, unsigned tag, AsyncHandler h) {
  Route r;
  r.segments = split_path(pattern);
  r.info = RouteInfo{std::move(method), std::move(pattern), tag};
  r.handler = std::move(h);
  routes_.push_back(std::move(r));
}

void Router::add_sync(std::string method, std::string pattern, unsigned tag, SyncHandler h) {
  add(std::move(method), std::move(pattern), tag,
      [h = std::move(h)](const Request& req, const Params& p, Responder out) { out.send(h(req, p)); });
}

Match Router::match(const std::string& method, const std::string& path) const {
  Match m;
  auto segs = split_path(path);
  int best_literals = -1;
  std::string allow;
  for (const auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    Params params;
    int literals = 0;
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      if (is_param(r.segments[i])) {
        if (segs[i].empty()) ok = false;
        else params[r.segments[i].substr(1, r.segments[i].size() - 2)] = segs[i];
      } else if (r.segments[i] == segs[i]) {
        ++literals;
      } else {
        ok = false;
      }
    }
    if (!ok) continue;
    if (r.info.method != method) {
      if (allow.find(r.info.method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + r.info.method;
      continue;
    }
    if (literals > best_literals) {
      best_literals = literals;
      m.route = &r.info;
      m.params = std::move(params);
      m.handler = r.handler;
    }
  }
  if (m.route) {
    // A literal route with another method must not be shadowed into a
    // parameter route of this one ("/hosts/offset" POST vs "/hosts/{h}").
    return m;
  }
  if (!allow.empty()) {
    m.problem = problem(ApiErrc::method_not_allowed, method + " is not allowed on " + path);
    m.allow = allow;
  } else {
    m.problem = problem(ApiErrc::not_found, "no such resource: " + path);
  }
  return m;
}

std::vector<RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  for (const auto& r : routes_) out.push_back(r.info);
  return out;
}

}  // namespace migclock::net
