// The controller core: hosts, VMs, clock offsets, migrations (the phase
// state machine), agent commands and preflight. Transport-free: typed
// commands in, typed results out; refusals are Result errors in the
// domain's terms (errc::not_found, conflict, forbidden, invalid_argument,
// too_large, unavailable, with the field at fault), which the API layer
// alone turns into HTTP statuses (api.hpp, problem_of). Every change's
// records go to the Journal before the core's lock is released, so the
// journal commits changes in the order they were made; a result carries
// the sequence number the HTTP edge (api.hpp) waits for before it answers.
//
// State lives in memory for fast reads and is rebuilt from the Store at
// start.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "migclock/common/result.hpp"
#include "migclock/common/time_source.hpp"
#include "migclock/controller/journal.hpp"
#include "migclock/controller/model.hpp"
#include "migclock/controller/store.hpp"
#include "migclock/protocol/limits.hpp"

namespace migclock::controller {

struct CoreOptions {
  // A non-terminal migration with no phase change for this long ends
  // degraded ("timed out in phase X"). Counted from the last change's
  // controller time, so it resumes across restarts.
  int64_t phase_timeout_ns = 600'000'000'000;  // 10 min
  std::size_t offset_history = 64;             // samples kept in memory per host
  int64_t offset_max_age_ns = 600'000'000'000; // preflight wants a fresher offset
  int64_t host_stale_ns = 60'000'000'000;      // preflight: heartbeat older → not alive
};

// Caps on what reports may add to a record that every read returns
// (hostile input: repeated events with new keys grew one without limit).
inline constexpr std::size_t kMaxResultKeys = 64;          // top-level keys of merged results (400)
inline constexpr std::size_t kMaxResultBytes = 64 * 1024;  // merged results, serialized (413)
inline constexpr std::size_t kMaxReasonBytes = protocol::kMaxReasonBytes;  // reason / message strings (400)

// libvirt states that mean the VM runs on the reporting host.
bool vm_state_is_active(const std::string& state);

template <class T>
struct Applied {
  T value;
  std::vector<Record> records;  // staged by the core; handed to the journal under its lock
  Journal::Seq seq = 0;         // answer once the journal has committed this far
  bool changed = false;         // seq is this result's own change (else: the last one, read)
  bool created = false;         // 201 rather than 200
  std::vector<std::string> wake;  // waiter keys to notify after the commit
  std::string outcome;          // "verified"|"failed"|"degraded" if this change ended a migration
};

struct HostReport {
  Host facts;  // hostname..invtsc; times are set by the core
  std::vector<VmRef> vms;
  // SHA-256 of a legacy (host-less) agent token to bind to this host in the
  // same commit ("" = none): its first heartbeat decides its host.
  std::string bind_token_hash;
};

struct Announce {
  std::string vm_uuid, vm_name, source, destination, kind = "live", created_by = "agent";
  std::string by_host;  // the announcing agent's host; "" for an operator
};

struct PhaseReport {
  Phase phase = Phase::announced;
  std::string host;
  int64_t at_ns = 0;
  std::string reason;
  std::string results_json;  // "" or an object
  // The reporting agent's host ("" for an operator): it must be the
  // migration's source or destination, or become its destination.
  std::string actor;
};

struct MigrationQuery {
  std::string vm;     // uuid or name
  std::string host;   // source or destination
  std::optional<Phase> phase;
  std::optional<bool> active;
  std::size_t limit = 50;
  std::size_t offset = 0;
};

struct MigrationPage {
  std::vector<Migration> items;
  std::size_t total = 0;
  std::optional<std::size_t> next_offset;
};

struct HostOffset {
  std::string from, to;
  int64_t offset_ns = 0;       // to's realtime − from's realtime
  int64_t uncertainty_ns = 0;
  int64_t measured_at_ns = 0;  // the older of the two measurements (controller clock)
};

struct PreflightCheck {
  std::string name;
  bool ok = false;
  std::string detail;
};

struct PreflightResult {
  bool compatible = false;
  std::vector<PreflightCheck> checks;
  std::optional<HostOffset> offset;
  std::string vm_uuid, vm_name;
};

struct CommandResultReport {
  bool ok = false;
  std::string message;
  std::string results_json;
};

class Core {
 public:
  Core(Store& store, Journal& journal, const TimeSource& time, CoreOptions options);

  // Rebuilds memory from the store (startup); prunes offsets beyond the
  // kept history from it.
  Status load();

  // Hosts, VMs, offsets.
  Result<Applied<Host>> register_host(HostReport report);
  Result<Applied<bool>> report_offset(const std::string& hostname, ClockOffset o);
  Result<Host> host(const std::string& hostname) const;
  std::vector<Host> hosts() const;
  std::vector<ClockOffset> offset_history(const std::string& hostname) const;
  Result<HostOffset> host_offset(const std::string& from, const std::string& to) const;
  std::vector<Vm> vms() const;
  Result<Vm> vm(const std::string& uuid_or_name) const;

  // Migrations.
  Result<Applied<Migration>> announce(Announce a);
  Result<Applied<Migration>> report_phase(const std::string& id, PhaseReport r);
  // Bytes already decoded and validated.
  Result<Applied<Migration>> put_snapshot(const std::string& id, std::string bytes, serialization::Format format);
  Result<Migration> migration(const std::string& id) const;
  // restore-inputs: `destination` must be the migration's recorded
  // destination (409 naming field "destination"); if none is recorded yet
  // it becomes it (journaled), so two hosts cannot both restore one snapshot.
  Result<Applied<Migration>> claim_destination(const std::string& id, const std::string& destination);
  // The 409 of claim_destination, for checking before expensive work.
  static std::optional<Error> destination_mismatch(const Migration& m, const std::string& destination);
  MigrationPage migrations(const MigrationQuery& q) const;
  // The stored snapshot bytes and their format.
  Result<std::pair<std::string, serialization::Format>> snapshot_bytes(const std::string& id) const;
  // Migrations stuck longer than the phase timeout → degraded (records).
  std::vector<Applied<Migration>> expire(int64_t now_ns);
  std::vector<std::pair<std::string, int64_t>> phase_counts() const;
  // Retention: migrations ended more than `retention_ns` ago are deleted
  // with their snapshots (records: the deletions). 0 keeps everything.
  Applied<std::size_t> retire(int64_t now_ns, int64_t retention_ns);

  // Agent commands.
  Result<Applied<Command>> queue_sync(const std::string& vm_uuid_or_name);
  // Queued commands for the host, now marked delivered (empty: none).
  Result<Applied<std::vector<Command>>> take_commands(const std::string& hostname);
  Result<Applied<Command>> command_result(const std::string& hostname, const std::string& id,
                                                CommandResultReport r);
  Result<Command> command(const std::string& id) const;
  bool has_queued_commands(const std::string& hostname) const;

  PreflightResult preflight(const std::string& vm, const std::string& source, const std::string& destination,
                            int64_t now_ns) const;
  Result<PreflightResult> preflight_checked(const std::string& vm, const std::string& source,
                                                  const std::string& destination) const;

  // Tokens (cache in front of the store: tokens made by `token create`
  // while running are found on first use).
  std::optional<Scope> token_scope(const std::string& secret);
  std::optional<Token> token(const std::string& secret);
  static Record token_record(const Token& t);

  // A store shared by several controllers (etcd): records another
  // controller committed, or the store's state of keys after a lost race
  // (erase: the key is absent). They replace what memory holds;
  // `under_lock` runs before the lock is released (the store notes there
  // that changes staged earlier are stale). Returns the waiter keys to wake.
  std::vector<std::string> apply_remote(const std::vector<Record>& records, const std::function<void()>& under_lock);

  // ?consistent=true: the record as the store holds it now (a shared
  // store: another controller's change not yet in the cache comes in first).
  Status read_fresh(Table table, const std::string& key) { return store_.read_fresh(table, key); }

  const TimeSource& time() const { return time_; }
  const CoreOptions& options() const { return options_; }

  static std::string migration_key(const std::string& vm_uuid) { return "migration:" + vm_uuid; }
  static std::string commands_key(const std::string& host) { return "commands:" + host; }

 private:
  Record record(const Migration& m) const;
  Record record(const Host& h) const;
  Record record(const Vm& v) const;
  Record record(const Command& c) const;
  std::string new_id(const char* prefix) const;
  const Vm* find_vm_locked(const std::string& uuid_or_name) const;
  Result<HostOffset> host_offset_locked(const std::string& from, const std::string& to) const;
  Applied<Migration> transition_locked(Migration& m, PhaseReport r, int64_t now);
  // With mutex_ held, after changing m: new version, its record, its watchers.
  void stage_change(Migration& m, Applied<Migration>& out) const;
  // With mutex_ held: hands the staged records to the journal (in change
  // order) and stamps the sequence number to wait for. Results that change
  // nothing get the last one: they read state that may not be durable yet.
  template <class T>
  Applied<T> sealed(Applied<T> out) {
    out.changed = !out.records.empty();
    out.seq = journal_.append(std::move(out.records));
    out.records.clear();
    return out;
  }

  Store& store_;
  Journal& journal_;
  const TimeSource& time_;
  CoreOptions options_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, Host> hosts_;
  std::map<std::string, std::vector<ClockOffset>> offsets_;
  std::map<std::string, Vm> vms_;
  std::map<std::string, Migration> migrations_;
  std::vector<std::string> migration_order_;  // creation order
  std::map<std::string, std::string> active_by_vm_;  // vm_uuid → migration id
  std::map<std::string, Command> commands_;
  std::mutex token_mutex_;
  std::map<std::string, Token> tokens_;  // hash → token
};

}  // namespace migclock::controller
