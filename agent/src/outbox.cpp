#include "migclock/agent/outbox.hpp"

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "migclock/serialization/snapshot_io.hpp"

namespace migclock::agent {

namespace fs = std::filesystem;

namespace {
bool safe_token(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
}
}  // namespace

Result<OutboxItem> Outbox::put(const snapshot::Snapshot& s, const std::string& kind) {
  const std::string id = s.vm.uuid.empty() ? s.vm.name : s.vm.uuid;
  if (!safe_token(id) || !safe_token(kind))
    return make_error(errc::invalid_argument, "outbox: VM id and kind must be [A-Za-z0-9_-]");
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return errno_error(ec.value(), "outbox: create " + dir_);
  OutboxItem item;
  item.uuid = id;
  item.kind = kind;
  item.path = dir_ + "/" + std::to_string(s.captured.realtime_ns) + "-" + id + "-" + kind + ".mcs";
  MIGCLOCK_TRY(serialization::save_file(item.path, s));
  return item;
}

std::vector<OutboxItem> Outbox::pending() const {
  std::vector<OutboxItem> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->path().extension() != ".mcs") continue;
    // <ns>-<uuid with dashes>-<kind>.mcs
    const auto first = name.find('-');
    const auto last = name.rfind('-');
    if (first == std::string::npos || last <= first) continue;
    OutboxItem item;
    item.path = it->path().string();
    item.uuid = name.substr(first + 1, last - first - 1);
    item.kind = name.substr(last + 1, name.size() - last - 1 - 4);
    out.push_back(item);
  }
  std::sort(out.begin(), out.end(), [](const OutboxItem& a, const OutboxItem& b) { return a.path < b.path; });
  return out;
}

Result<snapshot::Snapshot> Outbox::load(const OutboxItem& item) const {
  // Decode without semantic validation: a libvirt/QEMU capture carries no
  // KVM_GET_CLOCK tuple (QEMU owns the VM), which validate() requires.
  auto bytes = serialization::read_snapshot_bytes(item.path);
  MIGCLOCK_TRY(bytes);
  return serialization::decode(*bytes, serialization::Format::binary);
}

Status Outbox::remove(const OutboxItem& item) const {
  std::error_code ec;
  fs::remove(item.path, ec);
  if (ec) return errno_error(ec.value(), "outbox: remove " + item.path);
  return {};
}

}  // namespace migclock::agent
