// The HTTP edge of the controller: routes under /api/v1 (docs/api.md),
// bearer-token scopes, request bodies → typed core commands, core results
// → JSON, and "commit, then acknowledge" through the Journal.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "migclock/controller/core.hpp"
#include "migclock/controller/journal.hpp"
#include "migclock/controller/metrics.hpp"
#include "migclock/controller/waiters.hpp"
#include "migclock/net/json.hpp"
#include "migclock/net/responder.hpp"
#include "migclock/net/router.hpp"

namespace migclock::controller {

class Api {
 public:
  Api(Core& core, Journal& journal, Waiters& waiters, Metrics& metrics);

  // Route, authenticate, count, dispatch. Never blocks.
  void handle(net::Request&& req, net::Responder out);
  const net::Router& router() const { return router_; }
  std::size_t body_limit_for(const std::string& method, const std::string& path) const;

  // Commits `applied.records` then answers with ok(applied) (or 503 when
  // the journal fails); wakes waiters after the commit.
  template <class T>
  void commit(net::Outcome<Applied<T>> result, const net::Responder& out,
              std::function<net::Response(const Applied<T>&)> ok);

  Core& core;
  Journal& journal;
  Waiters& waiters;
  Metrics& metrics;
  std::atomic<bool> ready{false};

 private:
  void add_host_routes();
  void add_migration_routes();
  void add_misc_routes();
  net::Router router_;
};

template <class T>
void Api::commit(net::Outcome<Applied<T>> result, const net::Responder& out,
                 std::function<net::Response(const Applied<T>&)> ok) {
  if (!result) return out.send(result.problem());
  auto applied = std::make_shared<Applied<T>>(std::move(result).value());
  auto records = std::move(applied->records);
  applied->records.clear();
  journal.submit(std::move(records), [this, applied, out, ok = std::move(ok)](const Status& st) {
    if (!st.ok()) {
      out.send(net::problem(net::ApiErrc::unavailable, "journal commit failed: " + st.error().message()));
      return;
    }
    out.send(ok(*applied));
    for (const auto& key : applied->wake) waiters.notify(key);
  });
}

// Request helpers shared by the route files.
net::Outcome<rapidjson::Document> json_body(const net::Request& req);
// Integer query parameter in [lo, hi], or `fallback` when absent.
net::Outcome<int64_t> query_int(const net::Request& req, const std::string& name, int64_t fallback, int64_t lo,
                                int64_t hi);
// A path/host name: 1..253 bytes of [A-Za-z0-9._-].
bool valid_name(const std::string& s);

}  // namespace migclock::controller
