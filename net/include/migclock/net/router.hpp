// Router: method + path pattern ("/api/v1/hosts/{hostname}") → handler.
// Literal segments beat parameters ("/hosts/offset" wins over
// "/hosts/{hostname}"); a path that matches with another method is 405
// with an Allow header; no match is 404. Each route has a stable label (the
// pattern) for metrics.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "migclock/net/problem.hpp"
#include "migclock/net/request.hpp"
#include "migclock/net/responder.hpp"

namespace migclock::net {

using Params = std::map<std::string, std::string>;  // {name} → decoded segment

struct RouteInfo {
  std::string method;
  std::string pattern;
  unsigned tag = 0;  // free for the application (e.g. required scopes)
};

struct Match {
  const RouteInfo* route = nullptr;  // null: see problem
  Params params;
  std::function<void(const Request&, const Params&, Responder)> handler;
  Problem problem;                   // 404/405 when route is null
  std::string allow;                 // for 405
};

class Router {
 public:
  using AsyncHandler = std::function<void(const Request&, const Params&, Responder)>;
  using SyncHandler = std::function<Response(const Request&, const Params&)>;

  void add(std::string method, std::string pattern, unsigned tag, AsyncHandler h);
  void add_sync(std::string method, std::string pattern, unsigned tag, SyncHandler h);

  Match match(const std::string& method, const std::string& path) const;
  std::vector<RouteInfo> routes() const;

 private:
  struct Route {
    RouteInfo info;
    std::vector<std::string> segments;
    AsyncHandler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace migclock::net
