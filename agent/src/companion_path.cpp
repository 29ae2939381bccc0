#include "migclock/agent/companion_path.hpp"

#include "migclock/agent/domain_xml.hpp"
#include "migclock/agent/libvirt_handles.hpp"

#include <spdlog/spdlog.h>

namespace migclock::agent {

namespace {
bool transport_error(const Error& e) {
  return e.code == make_error_code(errc::unavailable) || e.code == make_error_code(errc::timeout) ||
         e.code == make_error_code(errc::io_error);
}
}  // namespace

CompanionAttempt try_companion_sync(virDomainPtr dom, const std::string& known_socket,
                                    const agent_sync::SyncOptions& options,
                                    agent_sync::QemuMonitorChannel* monitor, const TimeSource& time,
                                    const agent_sync::CancelToken& cancel) {
  CompanionAttempt a;
  const int64_t began = time.monotonic_raw_ns();
  const auto path = known_socket.empty() ? companion_socket_path(take_libvirt_string(virDomainGetXMLDesc(dom, 0)))
                                          : std::optional<std::string>(known_socket);
  const int64_t xml_ns = time.monotonic_raw_ns() - began;
  if (!path) {
    a.note = "no org.migclock.clock.0 channel";
    return a;
  }
  const int64_t first = time.monotonic_raw_ns();
  const int64_t wait_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(kCompanionAnswerWait).count();
  std::string last_error = "not tried";
  int attempts = 0;
  while (time.monotonic_raw_ns() - first < wait_ns) {
    ++attempts;
    auto ch = agent_sync::CompanionChannel::connect_unix(*path);
    if (ch) {
      // A time query, not info, as the first contact: info scans the guest's
      // /proc, which took 36-110 ms right after a TCG migration, and all of
      // it was lag left in the guest.
      auto hello = ch->time(time, std::chrono::milliseconds(200));
      if (hello) {
        agent_sync::RetriedSync rs;
        rs.first_attempt_ns = first;
        rs.connected_at_ns = time.monotonic_raw_ns();
        rs.attempts = 1;
        const double answered_ms = (rs.connected_at_ns - began) / 1e6;
        auto r = agent_sync::sync_via_companion(*ch, monitor, time, options, {});
        // After the repair: what else keeps time in the guest (for the note).
        auto info = ch->info(std::chrono::milliseconds(300));
        a.note = info ? info->text : "info: " + info.error().message();
        // Where the time before the first measurement goes (resume -> repair).
        spdlog::info("{}: companion answered {:.1f} ms after the sync began ({} {:.1f} ms, {} connect attempt(s)): {}",
                     virDomainGetName(dom), answered_ms, known_socket.empty() ? "live XML" : "socket path known", xml_ns / 1e6,
                     attempts, a.note);
        if (!r && transport_error(r.error())) {
          // The companion went away mid-sync: qemu-ga may still do it.
          a.note = "companion lost mid-sync: " + r.error().message();
          return a;
        }
        if (r) {
          rs.report = std::move(*r);
          a.result = Result<agent_sync::RetriedSync>(std::move(rs));
        } else {
          a.result = Result<agent_sync::RetriedSync>(r.error());
        }
        return a;
      }
      last_error = hello.error().message();
    } else {
      last_error = ch.error().message();
    }
    if (cancel.wait_for(std::chrono::milliseconds(20))) {
      a.result = Result<agent_sync::RetriedSync>(make_error(errc::conflict, "superseded"));
      return a;
    }
  }
  a.note = "companion did not answer within " + std::to_string(kCompanionAnswerWait.count()) + " ms: " + last_error;
  return a;
}

}  // namespace migclock::agent
