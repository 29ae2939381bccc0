// The HTTP edge of the controller: routes under /api/v1 (docs/api.md),
// bearer-token scopes, request bodies → typed core commands, core results
// → JSON, and "commit, then answer" through the Journal: every answer that
// depends on the controller's state waits until that state is durable —
// through commit() for changes, reply() for everything else.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "migclock/controller/core.hpp"
#include "migclock/controller/journal.hpp"
#include "migclock/controller/metrics.hpp"
#include "migclock/controller/waiters.hpp"
#include "migclock/net/json.hpp"
#include "migclock/net/responder.hpp"
#include "migclock/net/router.hpp"

namespace migclock::controller {

// The one place where the core's refusals become HTTP: the status from
// net::problem_from's errc table, the core's sentence as the message (the
// category's words added only when it gave none), the field it named.
// Why the core does not return net::Outcome: that carries the HTTP edge's
// vocabulary (invalid_json, unsupported_media_type, method_not_allowed…),
// which is the edge's own; the core speaks errc like kvm/ and the agent.
net::Problem problem_of(const Error& e);
inline net::Response answer(const Error& e) { return net::to_response(problem_of(e)); }
// The answer to a change whose commit failed: 409 when another controller
// changed the same record first (a shared store), else 503.
net::Problem commit_failure(const Error& e);
// A commit that failed as a conflict: only the changes in it are lost; an
// answer that merely read state up to it stands (the cache has the winner's).
inline bool is_conflict(const Status& st) {
  return !st.ok() && st.error().code == make_error_code(errc::conflict);
}

class Api {
 public:
  Api(Core& core, Journal& journal, Waiters& waiters, Metrics& metrics);

  // Route, authenticate, count, dispatch. Never blocks.
  void handle(net::Request&& req, net::Responder out);
  // net::ServerOptions::refuse_before_body: unknown route, no or wrong
  // token → the answer, before a body is read.
  std::optional<net::Response> refuse_before_body(const net::Request& head);
  const net::Router& router() const { return router_; }
  std::size_t body_limit_for(const std::string& method, const std::string& path) const;

  // Once the journal has committed `result`'s change (result.seq) answers
  // ok(applied) (503 if that commit failed), counts an outcome it ended,
  // wakes waiters. A refusal from the core (409...) goes through reply().
  template <class T>
  void commit(Result<Applied<T>> result, const net::Responder& out,
              std::function<net::Response(const Applied<T>&)> ok);
  // commit() of op(), for a change that can lose a race with another
  // controller on a shared store (etcd): on a conflict op() runs again, on
  // the state the conflict refreshed (the winner's), up to `attempts` times,
  // then 409.
  template <class T>
  void commit_op(std::function<Result<Applied<T>>()> op, const net::Responder& out,
                 std::function<net::Response(const Applied<T>&)> ok, int attempts = 4);
  // Answers `r` once every change it may have read is committed (the last
  // sequence number now: all the state `r` was built from had been handed
  // to the journal by then). 503 if a commit up to there failed.
  void reply(const net::Responder& out, net::Response r);

  // Host binding (docs/controller.md, "Tokens"): the host an agent token
  // acts for ("" if it is a legacy token not bound yet), nullopt for
  // operator (read/write) tokens, which act for no host.
  std::optional<std::string> agent_host(const net::Request& req);
  // 403 naming `field` when the request's agent token may not act as
  // `host`; nullopt for operators and for the token's own host.
  std::optional<net::Problem> not_acting_as(const net::Request& req, const std::string& host, const char* field);

  Core& core;
  Journal& journal;
  Waiters& waiters;
  Metrics& metrics;
  std::atomic<bool> ready{false};

 private:
  void add_host_routes();
  void add_migration_routes();
  void add_misc_routes();
  // Named handlers (api_hosts.cpp, api_migrations.cpp).
  void register_host(const net::Request&, const net::Params&, net::Responder);
  net::Response list_hosts(const net::Request&, const net::Params&);
  net::Response get_host(const net::Request&, const net::Params&);
  void report_clock_offset(const net::Request&, const net::Params&, net::Responder);
  net::Response offset_history(const net::Request&, const net::Params&);
  net::Response host_offset(const net::Request&, const net::Params&);
  net::Response list_vms(const net::Request&, const net::Params&);
  net::Response get_vm(const net::Request&, const net::Params&);
  void queue_sync(const net::Request&, const net::Params&, net::Responder);
  net::Response get_command(const net::Request&, const net::Params&);
  void poll_commands(const net::Request&, const net::Params&, net::Responder);
  void command_result(const net::Request&, const net::Params&, net::Responder);
  void announce_migration(const net::Request&, const net::Params&, net::Responder);
  net::Response list_migrations(const net::Request&, const net::Params&);
  void watch_migration(const net::Request&, const net::Params&, net::Responder);
  void report_phase_event(const net::Request&, const net::Params&, net::Responder);
  void put_snapshot(const net::Request&, const net::Params&, net::Responder);
  net::Response get_snapshot(const net::Request&, const net::Params&);
  void get_restore_inputs(const net::Request&, const net::Params&, net::Responder);
  using AsyncMember = void (Api::*)(const net::Request&, const net::Params&, net::Responder);
  using ReadMember = net::Response (Api::*)(const net::Request&, const net::Params&);
  void route(std::string method, std::string pattern, unsigned tag, AsyncMember h);
  // add_read() for a member.
  void read_route(std::string method, std::string pattern, unsigned tag, ReadMember h);
  // A route whose synchronous handler only reads state: answered by reply().
  void add_read(std::string method, std::string pattern, unsigned tag, net::Router::SyncHandler h);
  // 404/405/401/403 for a request, or nullopt when it may proceed.
  std::optional<net::Response> gate(const net::Request& req, const net::Match& m);
  static std::string route_label(const net::Match& m);
  net::Router router_;
};

template <class T>
void Api::commit(Result<Applied<T>> result, const net::Responder& out,
                 std::function<net::Response(const Applied<T>&)> ok) {
  if (!result) return reply(out, answer(result.error()));
  auto applied = std::make_shared<Applied<T>>(std::move(result).value());
  journal.when_committed(applied->seq, [this, applied, out, ok = std::move(ok)](const Status& st) {
    if (!st.ok() && !(is_conflict(st) && !applied->changed)) {
      out.send(commit_failure(st.error()));
      return;
    }
    if (!applied->outcome.empty()) metrics.count_outcome(applied->outcome);
    out.send(ok(*applied));
    for (const auto& key : applied->wake) waiters.notify(key);
  });
}

template <class T>
void Api::commit_op(std::function<Result<Applied<T>>()> op, const net::Responder& out,
                    std::function<net::Response(const Applied<T>&)> ok, int attempts) {
  auto result = op();
  if (!result) return reply(out, answer(result.error()));
  auto applied = std::make_shared<Applied<T>>(std::move(result).value());
  journal.when_committed(applied->seq, [this, applied, out, op, ok, attempts](const Status& st) {
    const bool conflict = is_conflict(st);
    if (conflict && !applied->changed) {
      // Nothing of ours was lost: an earlier change this answer read lost a race, and the cache has the winner's.
    } else if (conflict && attempts > 1) {
      return commit_op<T>(op, out, ok, attempts - 1);
    } else if (!st.ok()) {
      return out.send(commit_failure(st.error()));
    }
    if (!applied->outcome.empty()) metrics.count_outcome(applied->outcome);
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
// A results object over kMaxResultKeys keys (400) or kMaxResultBytes
// serialized (`json`, 413), field "results".
std::optional<net::Problem> results_limits(const rapidjson::Value& results, const std::string& json);

}  // namespace migclock::controller
