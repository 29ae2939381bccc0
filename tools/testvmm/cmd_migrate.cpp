// migrate: capture in one process, a real pause, restore in a second one.
#include <rapidjson/document.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "args.hpp"
#include "child_process.hpp"
#include "commands.hpp"
#include "migclock/kvm/restore_plan.hpp"

namespace migclock::testvmm {
namespace {

const char* kUsage =
    "usage: migclock-testvmm migrate --vcpus N --pause-ms D [--mode precise|by-value]\n"
    "                                [--pit advance|freeze] [--keep FILE.json] [--json]\n"
    "                                [--agent SOCKET [--to-agent SOCKET] [--name VM]]\n"
    "\n"
    "Runs 'capture' in one child process, waits D ms after it exits, then runs\n"
    "'restore' in a second child process (KVM ties a VM to its creator, so the\n"
    "two sides really are different processes) and prints its continuity report.\n"
    "The snapshot goes through a temporary file, or FILE with --keep.\n"
    "  --agent SOCKET     go through migclock-agent instead: the capture hands the\n"
    "                     snapshot to the agent at SOCKET, the restore asks the agent\n"
    "                     at --to-agent (default: the same) for its restore inputs\n"
    "  --name VM          the VM's name for the agents (default migclock-testvmm-PID)\n";

}  // namespace

int cmd_migrate(int argc, char** argv) {
  Args args(argc, argv, {"json", "help", "force"},
            {"vcpus", "pause-ms", "mode", "pit", "keep", "tolerance-ns", "agent", "to-agent", "name"});
  if (args.flag("help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const int64_t vcpus = args.integer("vcpus", 1, 1, 64);
  const int64_t pause_ms = args.integer("pause-ms", 200, 0, 3'600'000);
  // Refuse bad restore options before anything is captured.
  if (auto mode = kvm::parse_clock_mode(args.str("mode", "precise")); !mode)
    throw std::invalid_argument(mode.error().message());
  if (const std::string pit = args.str("pit", "advance"); pit != "advance" && pit != "freeze")
    throw std::invalid_argument("--pit " + pit + ": advance or freeze");
  const std::string agent = args.str("agent");
  if (agent.empty() && (args.has("to-agent") || args.has("name")))
    throw std::invalid_argument("--to-agent and --name need --agent");
  const std::string to_agent = args.str("to-agent", agent);
  const std::string name = args.str("name", "migclock-testvmm-" + std::to_string(::getpid()));
  const bool keep = args.has("keep");
  const std::string file =
      keep ? args.str("keep") : agent.empty() ? "/tmp/migclock-testvmm-" + std::to_string(::getpid()) + ".json" : "";

  std::vector<std::string> capture = {"capture", "--vcpus", std::to_string(vcpus), "--json"};
  if (!file.empty()) capture.insert(capture.end(), {"--out", file});
  if (!agent.empty()) capture.insert(capture.end(), {"--agent", agent, "--name", name});
  auto cap = run_self(capture);
  if (!cap) throw std::runtime_error(cap.error().message());
  if (cap->exit_code != 0) {
    std::fprintf(stderr, "migclock-testvmm migrate: capture failed (exit %d)\n", cap->exit_code);
    return cap->exit_code;
  }
  rapidjson::Document doc;
  if (doc.Parse(cap->stdout_text.c_str()).HasParseError() || !doc.IsObject() || !doc.HasMember("capture_us")) {
    std::fprintf(stderr, "migclock-testvmm migrate: capture printed no report: %s\n", cap->stdout_text.c_str());
    return kExitError;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));

  std::vector<std::string> restore = {"restore", "--mode", args.str("mode", "precise"),
                                      "--pit", args.str("pit", "advance"), "--pause-ms", std::to_string(pause_ms),
                                      "--capture-us", std::to_string(doc["capture_us"].GetInt64())};
  if (agent.empty())
    restore.insert(restore.end(), {"--in", file});
  else
    restore.insert(restore.end(), {"--agent", to_agent, "--vm", name});
  if (args.has("tolerance-ns")) restore.insert(restore.end(), {"--tolerance-ns", args.str("tolerance-ns")});
  if (args.flag("force")) restore.push_back("--force");
  if (args.flag("json")) restore.push_back("--json");
  auto res = run_self(restore);
  if (!keep && !file.empty()) ::unlink(file.c_str());
  if (!res) throw std::runtime_error(res.error().message());
  std::fputs(res->stdout_text.c_str(), stdout);
  return res->exit_code;
}

}  // namespace migclock::testvmm
