// Core: load from the store, hosts/VMs/offsets, tokens.
#include <openssl/rand.h>

#include <algorithm>
#include <mutex>

#include "migclock/controller/auth.hpp"
#include "migclock/controller/codec.hpp"
#include "migclock/controller/core.hpp"
#include "migclock/controller/offset_estimate.hpp"

namespace migclock::controller {


Core::Core(Store& store, Journal& journal, const TimeSource& time, CoreOptions options)
    : store_(store), journal_(journal), time_(time), options_(options) {}

Record Core::record(const Migration& m) const { return Record{Table::migrations, m.id, to_json(m), {}}; }
Record Core::record(const Host& h) const { return Record{Table::hosts, h.hostname, to_json(h), {}}; }
Record Core::record(const Vm& v) const { return Record{Table::vms, v.uuid, to_json(v), {}}; }
Record Core::record(const Command& c) const { return Record{Table::commands, c.id, to_json(c), {}}; }
Record Core::token_record(const Token& t) { return Record{Table::tokens, t.hash, token_to_json(t), {}}; }

std::string Core::new_id(const char* prefix) const {
  // Time-ordered prefix (sorts by creation) + randomness (unique across restarts).
  unsigned char r[6];
  RAND_bytes(r, sizeof r);
  char buf[64];
  snprintf(buf, sizeof buf, "%s-%013llx%02x%02x%02x%02x%02x%02x", prefix,
           static_cast<unsigned long long>(time_.realtime_ns() / 1000), r[0], r[1], r[2], r[3], r[4], r[5]);
  return buf;
}

namespace {
// Offset rows are keyed "host/<received_ns, 20 digits>": sorted per host.
std::string offset_key(const std::string& host, int64_t received_ns) {
  char key[32];
  snprintf(key, sizeof key, "/%020lld", static_cast<long long>(received_ns));
  return host + key;
}

// Every record of `table`, parsed by `parse`, handed to `take` (startup).
template <class Parse, class Take>
Status load_table(Store& store, Table table, Parse parse, Take take) {
  auto records = store.load(table);
  if (!records) return records.error();
  for (auto& r : *records) {
    auto v = parse(r.json);
    if (!v) return v.error();
    take(r, std::move(*v));
  }
  return {};
}
}  // namespace

bool vm_state_is_active(const std::string& state) {
  // libvirt's virDomainState names; shutoff, crashed, nostate are not running anywhere.
  return state == "running" || state == "paused" || state == "blocked" || state == "shutdown" ||
         state == "pmsuspended";
}


Status Core::load() {
  std::unique_lock lock(mutex_);
  MIGCLOCK_TRY(load_table(store_, Table::hosts, host_from_json,
                          [&](const Record&, Host h) { hosts_[h.hostname] = std::move(h); }));
  // Rows beyond the kept history (controllers before the pruning kept them
  // all) are deleted now, before anything is served: the table stays bounded.
  std::map<std::string, std::vector<std::string>> offset_keys;  // host → keys, oldest first
  MIGCLOCK_TRY(load_table(store_, Table::offsets, offset_from_json, [&](const Record& r, ClockOffset o) {
    std::string host = r.key.substr(0, r.key.rfind('/'));
    offsets_[host].push_back(o);
    offset_keys[host].push_back(r.key);
  }));
  std::vector<Record> pruned;
  for (auto& [host, hist] : offsets_) {
    if (hist.size() <= options_.offset_history) continue;
    std::size_t drop = hist.size() - options_.offset_history;
    for (std::size_t i = 0; i < drop; ++i) pruned.push_back(Record{Table::offsets, offset_keys[host][i], {}, {}, true});
    hist.erase(hist.begin(), hist.begin() + static_cast<std::ptrdiff_t>(drop));
  }
  if (!pruned.empty()) MIGCLOCK_TRY(store_.commit(pruned));
  MIGCLOCK_TRY(load_table(store_, Table::vms, vm_from_json, [&](const Record&, Vm v) { vms_[v.uuid] = std::move(v); }));
  std::vector<std::pair<int64_t, std::string>> order;
  MIGCLOCK_TRY(load_table(store_, Table::migrations, migration_from_json, [&](const Record&, Migration m) {
    order.emplace_back(m.created_ns, m.id);
    if (!is_terminal(m.phase)) active_by_vm_[m.vm_uuid] = m.id;
    migrations_[m.id] = std::move(m);
  }));
  std::sort(order.begin(), order.end());
  for (auto& [t, id] : order) migration_order_.push_back(id);
  return load_table(store_, Table::commands, command_from_json,
                    [&](const Record&, Command c) { commands_[c.id] = std::move(c); });
}

std::optional<Scope> Core::token_scope(const std::string& secret) {
  auto t = token(secret);
  if (!t) return std::nullopt;
  return t->scope;
}

std::optional<Token> Core::token(const std::string& secret) {
  if (secret.empty() || secret.size() > 256) return std::nullopt;
  std::string hash = sha256_hex(secret);
  {
    std::lock_guard<std::mutex> lock(token_mutex_);
    auto it = tokens_.find(hash);
    if (it != tokens_.end()) return it->second;
  }
  auto rec = store_.get(Table::tokens, hash);
  if (!rec || !rec->has_value()) return std::nullopt;
  auto t = token_from_json(hash, (*rec)->json);
  if (!t) return std::nullopt;
  std::lock_guard<std::mutex> lock(token_mutex_);
  // A binding made meanwhile (first heartbeat) is newer than the store read.
  return tokens_.emplace(hash, *t).first->second;
}

Result<Applied<Host>> Core::register_host(HostReport report) {
  int64_t now = time_.realtime_ns();
  std::unique_lock lock(mutex_);
  Applied<Host> out;
  auto it = hosts_.find(report.facts.hostname);
  Host h = std::move(report.facts);
  if (it == hosts_.end()) {
    h.registered_ns = now;
    out.created = true;
  } else {
    h.registered_ns = it->second.registered_ns;
    h.offset = it->second.offset;
  }
  h.last_seen_ns = now;
  if (!report.bind_token_hash.empty()) {
    // A legacy agent token is bound to the host of its first heartbeat,
    // journaled with it (docs/controller.md, "Tokens").
    std::lock_guard<std::mutex> tl(token_mutex_);
    auto t = tokens_.find(report.bind_token_hash);
    if (t == tokens_.end()) return make_error(errc::unauthorized, "unknown or revoked token");
    if (!t->second.host.empty() && t->second.host != h.hostname)
      return make_error(errc::forbidden, "this agent token acts for host '" + t->second.host + "', not '" + h.hostname + "'",
                     "hostname");
    if (t->second.host.empty()) {
      t->second.host = h.hostname;
      out.records.push_back(token_record(t->second));
    }
  }
  hosts_[h.hostname] = h;
  out.records.push_back(record(h));
  // VMs: reported ones are on this host now; ones this host reported
  // before and no longer does are marked gone from it. A VM runs on one
  // host at a time but may stay defined (shut off) on the host it left: an
  // inactive report never takes a VM from a host that reports it active,
  // or commands for it would go to the wrong agent.
  std::map<std::string, bool> seen;
  for (const auto& ref : report.vms) {
    seen[ref.uuid] = true;
    auto found = vms_.find(ref.uuid);
    if (found != vms_.end() && !found->second.host.empty() && found->second.host != h.hostname &&
        vm_state_is_active(found->second.state) && !vm_state_is_active(ref.state))
      continue;
    auto& v = vms_[ref.uuid];
    if (v.uuid == ref.uuid && v.name == ref.name && v.state == ref.state && v.host == h.hostname) continue;
    v.uuid = ref.uuid;
    v.name = ref.name;
    v.state = ref.state;
    v.host = h.hostname;
    v.updated_ns = now;
    out.records.push_back(record(v));
  }
  for (auto& [uuid, v] : vms_) {
    if (v.host == h.hostname && !seen.count(uuid)) {
      v.host.clear();
      v.state = "gone";
      v.updated_ns = now;
      out.records.push_back(record(v));
    }
  }
  out.value = h;
  return sealed(std::move(out));
}

Result<Applied<bool>> Core::report_offset(const std::string& hostname, ClockOffset o) {
  int64_t now = time_.realtime_ns();
  std::unique_lock lock(mutex_);
  auto it = hosts_.find(hostname);
  if (it == hosts_.end()) return make_error(errc::not_found, "host '" + hostname + "' is not registered");
  o.received_ns = now;
  it->second.offset = o;
  Applied<bool> out;
  out.value = true;
  auto& hist = offsets_[hostname];
  hist.push_back(o);
  out.records.push_back(Record{Table::offsets, offset_key(hostname, now), to_json(o), {}});
  if (hist.size() > options_.offset_history) {
    // The journal keeps what memory keeps. Two samples received in the same
    // ns share a row: the row goes only with the last of them.
    int64_t gone = hist.front().received_ns;
    hist.erase(hist.begin());
    if (hist.front().received_ns != gone)
      out.records.push_back(Record{Table::offsets, offset_key(hostname, gone), {}, {}, true});
  }
  out.records.push_back(record(it->second));
  return sealed(std::move(out));
}

Result<Host> Core::host(const std::string& hostname) const {
  std::shared_lock lock(mutex_);
  auto it = hosts_.find(hostname);
  if (it == hosts_.end()) return make_error(errc::not_found, "host '" + hostname + "' is not registered");
  return it->second;
}

std::vector<Host> Core::hosts() const {
  std::shared_lock lock(mutex_);
  std::vector<Host> out;
  for (const auto& [k, h] : hosts_) out.push_back(h);
  return out;
}

std::vector<ClockOffset> Core::offset_history(const std::string& hostname) const {
  std::shared_lock lock(mutex_);
  auto it = offsets_.find(hostname);
  return it == offsets_.end() ? std::vector<ClockOffset>{} : it->second;
}

Result<HostOffset> Core::host_offset_locked(const std::string& from, const std::string& to) const {
  auto a = hosts_.find(from);
  if (a == hosts_.end()) return make_error(errc::not_found, "host '" + from + "' is not registered", "from");
  auto b = hosts_.find(to);
  if (b == hosts_.end()) return make_error(errc::not_found, "host '" + to + "' is not registered", "to");
  if (!a->second.offset) return make_error(errc::conflict, "no clock offset measured yet for host '" + from + "'", "from");
  if (!b->second.offset) return make_error(errc::conflict, "no clock offset measured yet for host '" + to + "'", "to");
  // Each host's tightest recent measurement, aged (offset_estimate.hpp);
  // the latest one alone when the history is gone.
  const int64_t now = time_.realtime_ns();
  const auto pick = [&](const std::string& host, const ClockOffset& latest) {
    auto h = offsets_.find(host);
    auto best = h == offsets_.end() ? std::nullopt : best_offset(h->second, now);
    return best ? *best : latest;
  };
  const ClockOffset oa = pick(from, *a->second.offset), ob = pick(to, *b->second.offset);
  HostOffset o;
  o.from = from;
  o.to = to;
  // θ_X = controller − X, so B − A = θ_A − θ_B (docs/protocol.md §2).
  o.offset_ns = oa.offset_ns - ob.offset_ns;
  o.uncertainty_ns = oa.uncertainty_ns + ob.uncertainty_ns;
  o.measured_at_ns = std::min(oa.received_ns, ob.received_ns);
  return o;
}

Result<HostOffset> Core::host_offset(const std::string& from, const std::string& to) const {
  std::shared_lock lock(mutex_);
  return host_offset_locked(from, to);
}

std::vector<Vm> Core::vms() const {
  std::shared_lock lock(mutex_);
  std::vector<Vm> out;
  for (const auto& [k, v] : vms_) out.push_back(v);
  return out;
}

const Vm* Core::find_vm_locked(const std::string& key) const {
  auto it = vms_.find(key);
  if (it != vms_.end()) return &it->second;
  for (const auto& [k, v] : vms_)
    if (v.name == key) return &v;
  return nullptr;
}

Result<Vm> Core::vm(const std::string& key) const {
  std::shared_lock lock(mutex_);
  const Vm* v = find_vm_locked(key);
  if (!v) return make_error(errc::not_found, "no VM with uuid or name '" + key + "'");
  return *v;
}

}  // namespace migclock::controller
