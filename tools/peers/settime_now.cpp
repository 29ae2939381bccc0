// migclock-settime-now: what KubeVirt does after a migration or unpause, as
// the demo's `settime_now` arm: virDomainSetTime(now) through the guest
// agent, with `now` the host's CLOCK_REALTIME read right before the call and
// no accounting for the time the call takes to reach the guest. Retries while
// the guest agent is not (yet) connected, like KubeVirt's retry loop.
// --await-resume starts before the event and calls as soon as the domain
// runs again on URI (a migration's destination, or a suspended domain): the
// peer at its best, not delayed until the migration command returns.
// The demo also uses it to line every guest up with the host before each
// event, so that every arm starts an event from the same place.
// --sync is `virsh domtime --sync` instead (the demo's `domtime_sync` arm):
// virDomainSetTime with VIR_DOMAIN_TIME_SYNC and no time, so qemu-ga runs
// `hwclock -s` in the guest: the guest's clock from its RTC, which QEMU
// keeps at host time to the whole second.
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "migclock/common/parse_int.hpp"
#include "migclock/common/time_source.hpp"

namespace {

const char kUsage[] =
    "usage: migclock-settime-now --uri URI --domain NAME [--wait-s S] [--await-resume] [--sync]\n"
    "  virDomainSetTime(host CLOCK_REALTIME now) through the guest agent, retried every 20 ms\n"
    "  while the agent is not connected, for up to S (30) s. --await-resume: first wait (polling\n"
    "  every 5 ms, up to 120 s) until NAME is seen not running (absent or paused), then running.\n"
    "  --sync: what `virsh domtime --sync` does instead (VIR_DOMAIN_TIME_SYNC: the guest reads\n"
    "  its RTC, `hwclock -s`); set_ns is then when the call was made.\n"
    "  Prints JSON. Exit 0 set, 1 failed, 2 bad args.\n";

int64_t realtime_ns() { return migclock::SystemTimeSource::instance().realtime_ns(); }

void quiet(void*, virErrorPtr) {}  // errors are read with virGetLastError

bool running(virConnectPtr conn, const std::string& name, virDomainPtr* dom) {
  if (!*dom) *dom = virDomainLookupByName(conn, name.c_str());
  if (!*dom) return false;
  int state = 0, reason = 0;
  if (virDomainGetState(*dom, &state, &reason, 0) != 0) {  // gone again (a failed migration): look up afresh
    virDomainFree(*dom);
    *dom = nullptr;
    return false;
  }
  return state == VIR_DOMAIN_RUNNING;
}

// Waits until NAME is seen not running (absent, paused, shut off) and then
// running; false after 120 s.
bool await_resume(virConnectPtr conn, const std::string& name, virDomainPtr* dom) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool seen_stopped = false;
  while (std::chrono::steady_clock::now() < deadline) {
    const bool r = running(conn, name, dom);
    if (!r) seen_stopped = true;
    if (r && seen_stopped) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::string uri, domain;
  long wait_s = 30;
  bool await = false, from_rtc = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "migclock-settime-now: %s needs a value\n%s", a.c_str(), kUsage);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--uri") {
      uri = next();
    } else if (a == "--domain") {
      domain = next();
    } else if (a == "--await-resume") {
      await = true;
    } else if (a == "--sync") {
      from_rtc = true;
    } else if (a == "--wait-s") {
      const std::string v = next();
      const auto parsed = migclock::parse_int(v, 0, 3600);
      if (parsed) wait_s = static_cast<decltype(wait_s)>(*parsed);
      if (!parsed) {
        std::fprintf(stderr, "migclock-settime-now: --wait-s: '%s' is not in [0, 3600]\n", v.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr, "migclock-settime-now: unknown argument %s\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (uri.empty() || domain.empty()) {
    std::fprintf(stderr, "migclock-settime-now: --uri and --domain are required\n%s", kUsage);
    return 2;
  }
  virSetErrorFunc(nullptr, quiet);
  virConnectPtr conn = virConnectOpen(uri.c_str());
  if (!conn) {
    std::fprintf(stderr, "migclock-settime-now: connect %s: %s\n", uri.c_str(), virGetLastErrorMessage());
    return 1;
  }
  virDomainPtr dom = nullptr;
  int64_t resumed_seen_ns = 0;
  if (await) {
    if (!await_resume(conn, domain, &dom)) {
      std::fprintf(stderr, "migclock-settime-now: %s: not seen resuming on %s within 120 s\n", domain.c_str(), uri.c_str());
      if (dom) virDomainFree(dom);
      virConnectClose(conn);
      return 1;
    }
    resumed_seen_ns = realtime_ns();
  } else {
    dom = virDomainLookupByName(conn, domain.c_str());
  }
  if (!dom) {
    std::fprintf(stderr, "migclock-settime-now: %s: %s\n", domain.c_str(), virGetLastErrorMessage());
    virConnectClose(conn);
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(wait_s);
  int attempts = 0, rc = 1;
  int64_t set_ns = 0, call_ns = 0;
  std::string last_error;
  for (;;) {
    ++attempts;
    set_ns = realtime_ns();
    const int r = from_rtc ? virDomainSetTime(dom, 0, 0, VIR_DOMAIN_TIME_SYNC)
                           : virDomainSetTime(dom, set_ns / 1'000'000'000,
                                              static_cast<unsigned int>(set_ns % 1'000'000'000), 0);
    call_ns = realtime_ns() - set_ns;
    if (r == 0) {
      rc = 0;
      break;
    }
    const virError* e = virGetLastError();
    last_error = e && e->message ? e->message : "unknown libvirt error";
    // Agent not connected yet (just resumed/migrated): retry. Anything
    // else is final.
    const bool retry = e && (e->code == VIR_ERR_AGENT_UNRESPONSIVE || e->code == VIR_ERR_AGENT_UNSYNCED ||
                             e->code == VIR_ERR_OPERATION_INVALID || e->code == VIR_ERR_OPERATION_TIMEOUT);
    if (!retry || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  if (rc == 0) {
    std::printf("{\"attempts\":%d,\"resumed_seen_ns\":%lld,\"set_ns\":%lld,\"call_ms\":%.1f,\"waited_ms\":%lld}\n",
                attempts, static_cast<long long>(resumed_seen_ns), static_cast<long long>(set_ns),
                static_cast<double>(call_ns) / 1e6, static_cast<long long>(waited.count()));
  } else {
    std::fprintf(stderr, "migclock-settime-now: %s: virDomainSetTime failed after %d attempts: %s\n", domain.c_str(),
                 attempts, last_error.c_str());
  }
  virDomainFree(dom);
  virConnectClose(conn);
  return rc;
}
