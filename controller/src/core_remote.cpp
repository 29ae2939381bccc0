// Core: state another controller changed in a shared store (etcd) comes in
// here, from the store's watch or from a lost race, and replaces what this
// controller's memory holds.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <mutex>

#include "migclock/common/parse_int.hpp"
#include "migclock/controller/codec.hpp"
#include "migclock/controller/core.hpp"

namespace migclock::controller {

std::vector<std::string> Core::apply_remote(const std::vector<Record>& records,
                                            const std::function<void()>& under_lock) {
  std::vector<std::string> wake;
  std::unique_lock lock(mutex_);
  for (const auto& r : records) {
    switch (r.table) {
      case Table::hosts: {
        if (r.erase) {
          hosts_.erase(r.key);
          break;
        }
        auto h = host_from_json(r.json);
        if (h) hosts_[h->hostname] = std::move(*h);
        else spdlog::warn("shared store: host {}: {}", r.key, h.error().message());
        break;
      }
      case Table::vms: {
        if (r.erase) {
          vms_.erase(r.key);
          break;
        }
        auto v = vm_from_json(r.json);
        if (v) vms_[v->uuid] = std::move(*v);
        else spdlog::warn("shared store: vm {}: {}", r.key, v.error().message());
        break;
      }
      case Table::migrations: {
        auto old = migrations_.find(r.key);
        if (old != migrations_.end()) {
          auto a = active_by_vm_.find(old->second.vm_uuid);
          if (a != active_by_vm_.end() && a->second == r.key) active_by_vm_.erase(a);
        }
        if (r.erase) {
          if (old != migrations_.end()) {
            migrations_.erase(old);
            migration_order_.erase(std::remove(migration_order_.begin(), migration_order_.end(), r.key),
                                   migration_order_.end());
          }
          wake.push_back(migration_key(r.key));
          break;
        }
        auto m = migration_from_json(r.json);
        if (!m) {
          spdlog::warn("shared store: migration {}: {}", r.key, m.error().message());
          break;
        }
        if (old == migrations_.end()) {
          // Creation order, as load() makes it. A new one is nearly always
          // the newest: search from the end.
          auto pos = migration_order_.end();
          while (pos != migration_order_.begin() && migrations_.at(*std::prev(pos)).created_ns > m->created_ns) --pos;
          migration_order_.insert(pos, m->id);
        }
        if (!is_terminal(m->phase)) active_by_vm_[m->vm_uuid] = m->id;
        wake.push_back(migration_key(m->id));
        migrations_[m->id] = std::move(*m);
        break;
      }
      case Table::commands: {
        if (r.erase) {
          commands_.erase(r.key);
          break;
        }
        auto c = command_from_json(r.json);
        if (!c) {
          spdlog::warn("shared store: command {}: {}", r.key, c.error().message());
          break;
        }
        if (c->state == "queued") wake.push_back(commands_key(c->host));
        wake.push_back("command:" + c->id);
        commands_[c->id] = std::move(*c);
        break;
      }
      case Table::offsets: {
        auto slash = r.key.rfind('/');
        if (slash == std::string::npos) break;
        std::string host = r.key.substr(0, slash);
        // The key's tail is when the offset was received (store key layout).
        const auto when = parse_int(std::string_view(r.key).substr(slash + 1));
        if (!when) break;  // not a key this controller writes
        const int64_t received = *when;
        auto& hist = offsets_[host];
        hist.erase(std::remove_if(hist.begin(), hist.end(),
                                  [&](const ClockOffset& o) { return o.received_ns == received; }),
                   hist.end());
        if (!r.erase) {
          auto o = offset_from_json(r.json);
          if (!o) break;
          auto pos = std::find_if(hist.begin(), hist.end(),
                                  [&](const ClockOffset& x) { return x.received_ns > o->received_ns; });
          hist.insert(pos, *o);
          if (hist.size() > options_.offset_history)
            hist.erase(hist.begin(), hist.begin() + static_cast<std::ptrdiff_t>(hist.size() - options_.offset_history));
        }
        break;
      }
      case Table::tokens: {
        std::lock_guard<std::mutex> tl(token_mutex_);
        if (r.erase) {
          tokens_.erase(r.key);
          break;
        }
        auto t = token_from_json(r.key, r.json);
        if (t) tokens_[r.key] = std::move(*t);
        break;
      }
      case Table::snapshots:
        break;  // read through the store (snapshot_bytes)
    }
  }
  if (under_lock) under_lock();
  return wake;
}

}  // namespace migclock::controller
