// The two channels the guest clock repair talks through, as abstract
// interfaces so the core never sees a libvirt type: the guest agent (QGA
// JSON, e.g. guest-get-time / guest-set-time) and the QEMU monitor (QMP,
// for rtc-reset-reinjection). libvirt_channel.hpp has the real ones; tests
// of the arithmetic use a simulated guest (ModelTest).
#pragma once

#include <chrono>
#include <string>

#include "migclock/common/result.hpp"

namespace migclock::agent_sync {

class GuestAgentChannel {
 public:
  virtual ~GuestAgentChannel() = default;
  // Sends one QGA command (a JSON object, e.g. {"execute":"guest-get-time"})
  // and returns the full reply text ({"return": ...}). Errors:
  //   errc::unavailable   the agent is not connected (yet) — worth retrying
  //   errc::timeout       no reply within `timeout`
  //   errc::io_error      anything else the transport reports
  // A reply carrying {"error": ...} is returned as a value; parse it with
  // qga_json.hpp, which turns it into an Error.
  virtual Result<std::string> command(const std::string& json, std::chrono::milliseconds timeout) = 0;
};

class QemuMonitorChannel {
 public:
  virtual ~QemuMonitorChannel() = default;
  // Sends one QMP command and returns the reply text; same error mapping.
  virtual Result<std::string> command(const std::string& json) = 0;
};

}  // namespace migclock::agent_sync
