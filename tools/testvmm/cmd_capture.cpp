// capture: boot, run, pause, capture, write the snapshot, exit.
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <optional>

#include "agent_link.hpp"
#include "args.hpp"
#include "commands.hpp"
#include "migclock/common/json_writer.hpp"
#include "migclock/kvm/capture.hpp"
#include "migclock/kvm/clock_guest.hpp"
#include "migclock/kvm/host_facts.hpp"
#include "migclock/kvm/probe.hpp"
#include "migclock/serialization/snapshot_io.hpp"

namespace migclock::testvmm {
namespace {

const char* kUsage =
    "usage: migclock-testvmm capture --vcpus N (--out FILE | --agent SOCKET) [--name VM]\n"
    "                                [--run-ms MS] [--json]\n"
    "\n"
    "Boots the test guest with N vCPUs (1-64), lets every vCPU sample its clocks\n"
    "for MS milliseconds (default 20), stops them, captures the VM's clock state\n"
    "(kvm/ capture) and writes the snapshot to FILE (.json or .mcs).\n"
    "  --agent SOCKET  hand the snapshot to the local migclock-agent (its unix\n"
    "                  socket, POST /api/v1/vmm/snapshots), which ships it to the\n"
    "                  controller; with --out as well, both happen\n"
    "  --name VM       the VM's name in the snapshot (default migclock-testvmm-PID);\n"
    "                  the destination asks for its restore inputs by this name\n"
    "--json prints {capture_us, vcpus, out, stored, clock_ns, realtime_ns}.\n";

int fail(const Error& e) {
  std::fprintf(stderr, "migclock-testvmm capture: %s\n", e.message().c_str());
  return kExitError;
}

}  // namespace

int cmd_capture(int argc, char** argv) {
  Args args(argc, argv, {"json", "help"}, {"vcpus", "out", "run-ms", "agent", "name"});
  if (args.flag("help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const auto vcpus = static_cast<uint32_t>(args.integer("vcpus", 1, 1, kvm::ClockGuest::kMaxVcpus));
  const std::string agent = args.str("agent");
  const std::string out = agent.empty() ? args.require("out") : args.str("out");
  const int64_t run_ms = args.integer("run-ms", 20, 0, 600'000);
  std::optional<serialization::Format> fmt;
  if (!out.empty()) {
    auto f = serialization::format_for_path(out);
    if (!f) return fail(f.error());
    fmt = *f;
  }

  auto sys = kvm::System::open();
  if (!sys) return fail(sys.error());
  auto probe = kvm::probe_host(*sys);
  if (!probe) return fail(probe.error());
  kvm::CaptureContext ctx;
  ctx.host = kvm::collect_host_facts(probe->host_khz);
  ctx.host.scaling_supported = probe->scaling_supported;
  ctx.host.offset_honoured =
      probe->offset.honoured() ? snapshot::OffsetHonoured::yes : snapshot::OffsetHonoured::no;
  ctx.vm.name = args.str("name", "migclock-testvmm-" + std::to_string(::getpid()));

  auto guest = kvm::ClockGuest::create(*sys, vcpus);
  if (!guest) return fail(guest.error());
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms);
  do {
    for (uint32_t i = 0; i < vcpus; ++i)
      if (auto s = guest->sample(i); !s) return fail(s.error());
  } while (std::chrono::steady_clock::now() < until);

  // Paused: no vCPU runs from here on.
  const auto t0 = std::chrono::steady_clock::now();
  auto snap = kvm::capture(guest->vm(), guest->vcpus(), ctx);
  const auto t1 = std::chrono::steady_clock::now();
  if (!snap) return fail(snap.error());
  if (!out.empty())
    if (auto saved = serialization::save_file(out, *snap); !saved) return fail(saved.error());
  std::string stored;
  if (!agent.empty()) {
    auto posted = post_snapshot(agent, *snap);
    if (!posted) return fail(posted.error());
    stored = *posted;
  }
  const auto capture_us = std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count();
  if (args.flag("json")) {
    JsonWriter w;
    w.begin_object()
        .field("capture_us", static_cast<int64_t>(capture_us))
        .field("vcpus", vcpus)
        .field("out", out)
        .field("stored", stored)
        .field("name", snap->vm.name)
        .field("clock_ns", static_cast<uint64_t>(snap->clock.clock_ns))
        .field("realtime_ns", static_cast<uint64_t>(snap->clock.realtime_ns))
        .end_object();
    std::printf("%s\n", w.str().c_str());
  } else {
    std::printf("captured %u vCPUs of %s in %lld us", vcpus, snap->vm.name.c_str(), static_cast<long long>(capture_us));
    if (fmt) std::printf(" to %s (%s)", out.c_str(), serialization::format_name(*fmt));
    if (!stored.empty()) std::printf("; the agent stored it as %s", stored.c_str());
    std::printf("\n");
  }
  return kExitOk;
}

}  // namespace migclock::testvmm
