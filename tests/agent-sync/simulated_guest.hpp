// A deterministic model of a guest agent reached over a path with known
// delays, driven by a ManualTimeSource as the host clock. Used only for the
// arithmetic of offset measurement and sync (tests named *ModelTest*); the
// real path is exercised against a real guest in real_guest_test.cpp.
//
// Model (what qemu-ga does, per QEMU's qga/commands-posix.c):
//   guest-get-time: the host clock advances by `to_guest_ns`, the guest reads
//     its CLOCK_REALTIME (host realtime + offset, truncated to µs like
//     g_get_real_time), the host clock advances by `to_host_ns`.
//   guest-set-time: the host clock advances by `to_guest_ns + apply_ns`, the
//     guest's clock becomes the given time at that instant
//     (settimeofday), then `hwclock_ns + to_host_ns` pass before the reply.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "migclock/agent_sync/guest_agent_channel.hpp"
#include "migclock/common/time_source.hpp"

namespace migclock::agent_sync::testing {

class SimulatedGuest final : public GuestAgentChannel {
 public:
  explicit SimulatedGuest(ManualTimeSource& host) : host_(host) {}

  int64_t offset_ns = 0;  // guest - host, the truth
  int64_t to_guest_ns = 150'000;
  int64_t to_host_ns = 150'000;
  int64_t apply_ns = 1'200'000;
  std::deque<int64_t> apply_sequence;  // when set: per guest-set-time call, overrides apply_ns
  std::deque<int64_t> rtt_sequence;    // when set: per guest-get-time call, a symmetric RTT
  int64_t hwclock_ns = 10'000'000;
  int unavailable_for_calls = 0;  // first N calls answer "not connected"
  int64_t unavailable_cost_ns = 0;  // host time each such call takes
  bool answer_with_error = false;  // reply {"error":...}
  std::vector<std::string> commands;  // every command received

  Result<std::string> command(const std::string& json, std::chrono::milliseconds) override {
    commands.push_back(json);
    if (unavailable_for_calls > 0) {
      --unavailable_for_calls;
      host_.advance_ns(unavailable_cost_ns);
      return make_error(errc::unavailable, "model: guest agent is not connected");
    }
    if (answer_with_error) return std::string(R"({"error":{"class":"GenericError","desc":"model failure"}})");
    rapidjson::Document doc;
    doc.Parse(json.c_str());
    const std::string execute = doc["execute"].GetString();
    if (execute == "guest-get-time") {
      int64_t there = to_guest_ns, back = to_host_ns;
      if (!rtt_sequence.empty()) {
        there = back = rtt_sequence.front() / 2;
        rtt_sequence.pop_front();
      }
      host_.advance_ns(there);
      const int64_t guest_now = (host_.realtime_ns() + offset_ns) / 1000 * 1000;
      host_.advance_ns(back);
      return "{\"return\": " + std::to_string(guest_now) + "}";
    }
    if (execute == "guest-set-time") {
      int64_t apply = apply_ns;
      if (!apply_sequence.empty()) {
        apply = apply_sequence.front();
        apply_sequence.pop_front();
      }
      host_.advance_ns(to_guest_ns + apply);
      offset_ns = doc["arguments"]["time"].GetInt64() - host_.realtime_ns();
      host_.advance_ns(hwclock_ns + to_host_ns);
      return std::string(R"({"return": {}})");
    }
    return std::string(R"({"error":{"class":"CommandNotFound","desc":"model: unknown command"}})");
  }

  int count(const std::string& execute) const {
    int n = 0;
    for (const auto& c : commands) n += c.find("\"" + execute + "\"") != std::string::npos;
    return n;
  }

 private:
  ManualTimeSource& host_;
};

class RecordingMonitor final : public QemuMonitorChannel {
 public:
  std::vector<std::string> commands;
  bool fail = false;
  Result<std::string> command(const std::string& json) override {
    commands.push_back(json);
    if (fail) return std::string(R"({"error":{"class":"GenericError","desc":"no RTC"}})");
    return std::string(R"({"return": {}})");
  }
};

}  // namespace migclock::agent_sync::testing
