// Commands for agents (docs/protocol.md §4): queued by operators, taken by
// the agent's long poll, answered with a result.
#include <mutex>

#include "migclock/controller/core.hpp"

namespace migclock::controller {


Result<Applied<Command>> Core::queue_sync(const std::string& key) {
  int64_t now = time_.realtime_ns();
  std::unique_lock lock(mutex_);
  const Vm* v = find_vm_locked(key);
  if (!v) return make_error(errc::not_found, "no VM with uuid or name '" + key + "'");
  if (v->host.empty())
    return make_error(errc::conflict, "VM '" + v->name + "' is not on any host an agent reports (state " + v->state + ")");
  Command c;
  c.id = new_id("c");
  c.host = v->host;
  c.kind = "sync";
  c.vm_uuid = v->uuid;
  c.vm_name = v->name;
  c.created_ns = now;
  commands_[c.id] = c;
  Applied<Command> out;
  out.records.push_back(record(c));
  out.wake.push_back(commands_key(c.host));
  out.created = true;
  out.value = std::move(c);
  return sealed(std::move(out));
}

Result<Applied<std::vector<Command>>> Core::take_commands(const std::string& hostname) {
  int64_t now = time_.realtime_ns();
  std::unique_lock lock(mutex_);
  if (!hosts_.count(hostname)) return make_error(errc::not_found, "host '" + hostname + "' is not registered");
  Applied<std::vector<Command>> out;
  for (auto& [id, c] : commands_) {
    if (c.host != hostname || c.state != "queued") continue;
    c.state = "delivered";
    c.delivered_ns = now;
    out.records.push_back(record(c));
    out.value.push_back(c);
  }
  return sealed(std::move(out));
}

Result<Applied<Command>> Core::command_result(const std::string& hostname, const std::string& id,
                                                     CommandResultReport r) {
  int64_t now = time_.realtime_ns();
  std::unique_lock lock(mutex_);
  auto it = commands_.find(id);
  if (it == commands_.end()) return make_error(errc::not_found, "no command '" + id + "'");
  Command& c = it->second;
  if (c.host != hostname) return make_error(errc::conflict, "command " + id + " belongs to host " + c.host);
  Applied<Command> out;
  if (c.state == "done" || c.state == "failed") {  // repeat: idempotent
    out.value = c;
    return sealed(std::move(out));
  }
  c.state = r.ok ? "done" : "failed";
  c.message = r.message;
  if (!r.results_json.empty()) c.results_json = r.results_json;
  c.finished_ns = now;
  if (c.delivered_ns == 0) c.delivered_ns = now;
  out.records.push_back(record(c));
  out.wake.push_back("command:" + id);
  out.value = c;
  return sealed(std::move(out));
}

Result<Command> Core::command(const std::string& id) const {
  std::shared_lock lock(mutex_);
  auto it = commands_.find(id);
  if (it == commands_.end()) return make_error(errc::not_found, "no command '" + id + "'");
  return it->second;
}

}  // namespace migclock::controller

namespace migclock::controller {

bool Core::has_queued_commands(const std::string& hostname) const {
  std::shared_lock lock(mutex_);
  for (const auto& [id, c] : commands_)
    if (c.host == hostname && c.state == "queued") return true;
  return false;
}

}  // namespace migclock::controller
