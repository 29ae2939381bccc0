// The migration state machine (docs/protocol.md §3): forward-only phases,
// idempotent repeats, 409 for anything backwards or after the end.
#include <algorithm>
#include <mutex>

#include "migclock/controller/auth.hpp"
#include "migclock/controller/codec.hpp"
#include "migclock/controller/core.hpp"

namespace migclock::controller {


namespace {
// Merges the members of `add` (an object) into `base` (an object).
std::string merge_objects(const std::string& base, const std::string& add) {
  rapidjson::Document b, a;
  b.Parse(base.c_str());
  a.Parse(add.c_str());
  if (!b.IsObject()) b.SetObject();
  if (!a.IsObject()) return net::to_string(b);
  for (auto& m : a.GetObject()) {
    rapidjson::Value v(m.value, b.GetAllocator());
    auto it = b.FindMember(m.name);
    if (it != b.MemberEnd()) it->value = v;
    else b.AddMember(rapidjson::Value(m.name, b.GetAllocator()), v, b.GetAllocator());
  }
  return net::to_string(b);
}

// Merged results must stay small: every read of the migration returns them.
std::optional<Error> results_too_big(const std::string& merged) {
  rapidjson::Document d;
  d.Parse(merged.c_str(), merged.size());
  if (d.IsObject() && d.MemberCount() > kMaxResultKeys)
    return make_error(errc::invalid_argument, "results would have " + std::to_string(d.MemberCount()) + " keys (limit " +
                                             std::to_string(kMaxResultKeys) + ")", "results");
  if (merged.size() > kMaxResultBytes)
    return make_error(errc::too_large, "results would take " + std::to_string(merged.size()) + " bytes (limit " +
                                                   std::to_string(kMaxResultBytes) + ")", "results");
  return std::nullopt;
}

// Phases only the destination side sees (the VM running there).
bool destination_side(Phase p) {
  return p == Phase::destination_restored || p == Phase::resumed || p == Phase::synced || p == Phase::verified ||
         p == Phase::degraded;
}
}  // namespace

Result<Applied<Migration>> Core::announce(Announce a) {
  int64_t now = time_.realtime_ns();
  std::unique_lock lock(mutex_);
  Applied<Migration> out;
  auto active = active_by_vm_.find(a.vm_uuid);
  if (active != active_by_vm_.end()) {
    // Source and destination may both announce, and retries repeat: the
    // open migration of this VM is the answer. A destination learnt late
    // is filled in.
    Migration& m = migrations_.at(active->second);
    // Only the source (or an operator) names the destination of its migration.
    const bool may_name = a.by_host.empty() || a.by_host == m.source;
    if (m.destination.empty() && !a.destination.empty() && may_name) {
      m.destination = a.destination;
      stage_change(m, out);
    }
    out.value = m;
    return sealed(std::move(out));
  }
  Migration m;
  m.id = new_id("m");
  m.vm_uuid = a.vm_uuid;
  m.vm_name = a.vm_name;
  m.source = a.source;
  m.destination = a.destination;
  m.kind = a.kind;
  m.created_by = a.created_by;
  m.phase = Phase::announced;
  m.created_ns = now;
  m.updated_ns = now;
  m.history.push_back(PhaseEvent{Phase::announced, a.source, now, now, {}});
  migrations_[m.id] = m;
  migration_order_.push_back(m.id);
  active_by_vm_[m.vm_uuid] = m.id;
  out.records.push_back(record(m));
  out.created = true;
  out.value = std::move(m);
  return sealed(std::move(out));
}

Applied<Migration> Core::transition_locked(Migration& m, PhaseReport r, int64_t now) {
  Applied<Migration> out;
  m.phase = r.phase;
  m.updated_ns = now;
  if (!r.reason.empty()) m.reason = r.reason;
  if (!r.results_json.empty()) m.results_json = merge_objects(m.results_json, r.results_json);
  m.history.push_back(PhaseEvent{r.phase, r.host, r.at_ns, now, r.reason});
  if (is_terminal(m.phase)) {
    active_by_vm_.erase(m.vm_uuid);
    out.outcome = phase_name(m.phase);  // counted once: only this transition ends it
  }
  stage_change(m, out);
  out.value = m;
  return out;
}

Result<Applied<Migration>> Core::report_phase(const std::string& id, PhaseReport r) {
  int64_t now = time_.realtime_ns();
  std::unique_lock lock(mutex_);
  auto it = migrations_.find(id);
  if (it == migrations_.end()) return make_error(errc::not_found, "no migration '" + id + "'");
  Migration& m = it->second;
  // An event's host is a registered one (controller-made events do not come
  // through here): an unknown name never enters the history.
  if (!hosts_.count(r.host)) return make_error(errc::not_found, "host '" + r.host + "' is not registered", "host");
  bool becomes_destination = false;
  if (!r.actor.empty() && r.actor != m.source && r.actor != m.destination) {
    // A third host may only become the destination, and only of a migration
    // nobody named one for, by reporting the destination side of it while
    // its own heartbeat reports the VM active there.
    auto vm = vms_.find(m.vm_uuid);
    const bool has_vm = vm != vms_.end() && vm->second.host == r.actor && vm_state_is_active(vm->second.state);
    if (!m.destination.empty() || !destination_side(r.phase) || !has_vm)
      return make_error(errc::forbidden, "host '" + r.actor + "' is neither the source nor the destination of migration " +
                                             id + (m.destination.empty() ? " (nor reports its VM running)" : ""),
                     "host");
    becomes_destination = !is_terminal(m.phase);
  }
  std::string merged = m.results_json;
  if (!r.results_json.empty()) {
    merged = merge_objects(m.results_json, r.results_json);
    if (auto big = results_too_big(merged)) return *big;
  }
  if (r.phase == m.phase) {
    // A retried report: no new history entry; new results merge in (the
    // merge is idempotent too).
    Applied<Migration> out;
    if (becomes_destination || merged != m.results_json) {
      if (becomes_destination) m.destination = r.actor;
      m.results_json = merged;
      stage_change(m, out);
    }
    out.value = m;
    return sealed(std::move(out));
  }
  if (is_terminal(m.phase))
    return make_error(errc::conflict, "migration " + id + " already ended " + phase_name(m.phase) + "; '" +
                                          phase_name(r.phase) + "' refused", "phase");
  if (!is_terminal(r.phase) && phase_rank(r.phase) < phase_rank(m.phase))
    return make_error(errc::conflict, std::string("out of order: migration is ") + phase_name(m.phase) + ", '" +
                                          phase_name(r.phase) + "' comes before it", "phase");
  if (becomes_destination) m.destination = r.actor;
  return sealed(transition_locked(m, std::move(r), now));
}

Result<Applied<Migration>> Core::put_snapshot(const std::string& id, std::string bytes,
                                                     serialization::Format format) {
  int64_t now = time_.realtime_ns();
  std::string sha = sha256_hex(bytes);
  std::unique_lock lock(mutex_);
  auto it = migrations_.find(id);
  if (it == migrations_.end()) return make_error(errc::not_found, "no migration '" + id + "'");
  Migration& m = it->second;
  if (m.snapshot) {
    if (m.snapshot->sha256 == sha) {
      Applied<Migration> same;
      same.value = m;
      return sealed(std::move(same));
    }
    return make_error(errc::conflict, "migration " + id + " already has a different snapshot (sha256 " +
                                          m.snapshot->sha256 + ")");
  }
  if (is_terminal(m.phase))
    return make_error(errc::conflict, "migration " + id + " already ended " + phase_name(m.phase));
  m.snapshot = SnapshotInfo{format, sha, static_cast<int64_t>(bytes.size()), now};
  Applied<Migration> out;
  if (m.phase == Phase::announced) {
    PhaseReport r;
    r.phase = Phase::source_captured;
    r.host = m.source;
    r.at_ns = now;
    out = transition_locked(m, std::move(r), now);
  } else {
    stage_change(m, out);
    out.value = m;
  }
  // The snapshot row goes first in the same commit as the migration.
  out.records.insert(out.records.begin(), Record{Table::snapshots, id, std::string("{\"format\":\"") + serialization::format_name(format) + "\"}", std::move(bytes)});
  return sealed(std::move(out));
}

Result<Migration> Core::migration(const std::string& id) const {
  std::shared_lock lock(mutex_);
  auto it = migrations_.find(id);
  if (it == migrations_.end()) return make_error(errc::not_found, "no migration '" + id + "'");
  return it->second;
}

void Core::stage_change(Migration& m, Applied<Migration>& out) const {
  ++m.version;
  out.records.push_back(record(m));
  out.wake.push_back(migration_key(m.id));
}

std::optional<Error> Core::destination_mismatch(const Migration& m, const std::string& destination) {
  if (m.destination.empty() || m.destination == destination) return std::nullopt;
  return make_error(errc::conflict, "migration " + m.id + " goes to host '" + m.destination + "', not '" + destination + "'",
                 "destination");
}

Result<Applied<Migration>> Core::claim_destination(const std::string& id, const std::string& destination) {
  std::unique_lock lock(mutex_);
  auto it = migrations_.find(id);
  if (it == migrations_.end()) return make_error(errc::not_found, "no migration '" + id + "'");
  Migration& m = it->second;
  if (auto wrong = destination_mismatch(m, destination)) return *wrong;
  Applied<Migration> out;
  // An ended migration is not changed any more; it just answers.
  if (m.destination.empty() && !is_terminal(m.phase)) {
    m.destination = destination;
    stage_change(m, out);
  }
  out.value = m;
  return sealed(std::move(out));
}

MigrationPage Core::migrations(const MigrationQuery& q) const {
  std::shared_lock lock(mutex_);
  MigrationPage page;
  // Newest first.
  for (auto it = migration_order_.rbegin(); it != migration_order_.rend(); ++it) {
    const Migration& m = migrations_.at(*it);
    if (!q.vm.empty() && m.vm_uuid != q.vm && m.vm_name != q.vm) continue;
    if (!q.host.empty() && m.source != q.host && m.destination != q.host) continue;
    if (q.phase && m.phase != *q.phase) continue;
    if (q.active && is_terminal(m.phase) == *q.active) continue;
    if (page.total >= q.offset && page.items.size() < q.limit) page.items.push_back(m);
    ++page.total;
  }
  if (q.offset + page.items.size() < page.total) page.next_offset = q.offset + page.items.size();
  return page;
}

Result<std::pair<std::string, serialization::Format>> Core::snapshot_bytes(const std::string& id) const {
  {
    std::shared_lock lock(mutex_);
    auto it = migrations_.find(id);
    if (it == migrations_.end()) return make_error(errc::not_found, "no migration '" + id + "'");
    if (!it->second.snapshot) return make_error(errc::not_found, "migration " + id + " has no snapshot yet");
  }
  auto rec = store_.get(Table::snapshots, id);
  if (!rec) return rec.error();
  // Acknowledged snapshots are committed, but a GET racing the commit of
  // a fresh upload may not see it yet.
  if (!rec->has_value()) return make_error(errc::unavailable, "snapshot of " + id + " is still being committed");
  const auto format = (*rec)->json.find("binary") != std::string::npos ? serialization::Format::binary
                                                                       : serialization::Format::json;
  return std::make_pair(std::move((*rec)->blob), format);
}

std::vector<Applied<Migration>> Core::expire(int64_t now) {
  std::vector<Applied<Migration>> out;
  std::unique_lock lock(mutex_);
  for (auto& [id, m] : migrations_) {
    if (is_terminal(m.phase) || now - m.updated_ns < options_.phase_timeout_ns) continue;
    PhaseReport r;
    r.phase = Phase::degraded;
    r.host = "controller";
    r.at_ns = now;
    r.reason = std::string("timed out in phase ") + phase_name(m.phase) + ": no report for " +
               std::to_string((now - m.updated_ns) / 1'000'000'000) + " s (limit " +
               std::to_string(options_.phase_timeout_ns / 1'000'000'000) + " s)";
    out.push_back(sealed(transition_locked(m, std::move(r), now)));
  }
  return out;
}

std::vector<std::pair<std::string, int64_t>> Core::phase_counts() const {
  std::shared_lock lock(mutex_);
  std::vector<std::pair<std::string, int64_t>> out;
  for (Phase p : kAllPhases) out.emplace_back(phase_name(p), 0);
  for (const auto& [id, m] : migrations_) ++out[static_cast<size_t>(m.phase)].second;
  return out;
}

}  // namespace migclock::controller
