// How long libvirt waits for migclock-hook: the installed hook executed as
// libvirt does (fork/exec, argv, domain XML on stdin, libvirt's env) against
// a running migclock-agent (libvirt test:///default driver), per call.
//   BM_HookEvent          `vm1 started begin -`   (report only)
//   BM_HookMigrateBegin   `vm1 migrate begin -`   (XML filter, pin emitted)
//   BM_HookAgentDown      `vm1 started begin -`   with no agent listening
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "agent_process.hpp"

using namespace migclock::agent::testing;
namespace fs = std::filesystem;

namespace {

struct Env {
  std::string dir = "/tmp/mchookbench-" + std::to_string(getpid());
  std::string home = dir + "/home";
  std::string hooks = dir + "/hooks";
  std::unique_ptr<AgentProcess> agent;
  Env() {
    fs::create_directories(home + "/migclock");
    write_text(dir + "/agent.conf", "libvirt_uri = test:///default\ntsc_pin_xml = true\n");
    agent = std::make_unique<AgentProcess>(std::vector<std::string>{"--config", dir + "/agent.conf", "--socket",
                                                                    home + "/migclock/agent.sock", "--state-dir",
                                                                    dir + "/state", "--log-level", "warn"},
                                           home + "/migclock/agent.sock", dir + "/agent.log");
    run_process({MIGCLOCK_HOOK_BIN, "install", "--hooks-dir", hooks}, "", {"PATH=/usr/bin:/bin"});
  }
  ~Env() {
    agent.reset();
    fs::remove_all(dir);
  }
};

Env& env() {
  static Env e;
  return e;
}

const std::string kXml =
    "<domain type='qemu'>\n  <name>vm1</name>\n  <uuid>6f2a1c7e-1111-4222-8333-944455556666</uuid>\n"
    "  <cpu mode='custom'><model>qemu64</model><feature policy='require' name='invtsc'/></cpu>\n"
    "  <clock offset='utc'>\n    <timer name='rtc' tickpolicy='catchup'/>\n  </clock>\n</domain>\n";

void run_hook(benchmark::State& state, const std::vector<std::string>& args, const std::string& home) {
  auto& e = env();
  if (!e.agent->started()) {
    state.SkipWithError("agent did not start");
    return;
  }
  std::vector<std::string> argv{e.hooks + "/qemu"};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::vector<std::string> libvirt_env{"LC_ALL=C", "PATH=/usr/bin:/bin", "HOME=" + home, "USER=root", "LOGNAME=root"};
  for (auto _ : state) {
    const auto r = run_process(argv, kXml, libvirt_env);
    if (r.rc != 0) state.SkipWithError(("hook failed: " + r.err).c_str());
  }
}

void BM_HookEvent(benchmark::State& state) { run_hook(state, {"vm1", "started", "begin", "-"}, env().home); }
void BM_HookMigrateBegin(benchmark::State& state) { run_hook(state, {"vm1", "migrate", "begin", "-"}, env().home); }
void BM_HookAgentDown(benchmark::State& state) { run_hook(state, {"vm1", "started", "begin", "-"}, env().dir + "/nohome"); }

}  // namespace

BENCHMARK(BM_HookEvent)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_HookMigrateBegin)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_HookAgentDown)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK_MAIN();
