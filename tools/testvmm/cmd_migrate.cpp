// migrate: capture in one process, a real pause, restore in a second one.
#include <rapidjson/document.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "args.hpp"
#include "child_process.hpp"
#include "commands.hpp"

namespace migclock::testvmm {
namespace {

const char* kUsage =
    "usage: migclock-testvmm migrate --vcpus N --pause-ms D [--mode precise|by-value]\n"
    "                                [--pit advance|freeze] [--keep FILE.json] [--json]\n"
    "\n"
    "Runs 'capture' in one child process, waits D ms after it exits, then runs\n"
    "'restore' in a second child process (KVM ties a VM to its creator, so the\n"
    "two sides really are different processes) and prints its continuity report.\n"
    "The snapshot goes through a temporary file, or FILE with --keep.\n";

}  // namespace

int cmd_migrate(int argc, char** argv) {
  Args args(argc, argv, {"json", "help", "force"}, {"vcpus", "pause-ms", "mode", "pit", "keep", "tolerance-ns"});
  if (args.flag("help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const int64_t vcpus = args.integer("vcpus", 1, 1, 64);
  const int64_t pause_ms = args.integer("pause-ms", 200, 0, 3'600'000);
  const bool keep = args.has("keep");
  const std::string file =
      keep ? args.str("keep") : "/tmp/migclock-testvmm-" + std::to_string(::getpid()) + ".json";

  auto cap = run_self({"capture", "--vcpus", std::to_string(vcpus), "--out", file, "--json"});
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

  std::vector<std::string> restore = {"restore", "--in", file, "--mode", args.str("mode", "precise"),
                                      "--pit", args.str("pit", "advance"), "--pause-ms", std::to_string(pause_ms),
                                      "--capture-us", std::to_string(doc["capture_us"].GetInt64())};
  if (args.has("tolerance-ns")) restore.insert(restore.end(), {"--tolerance-ns", args.str("tolerance-ns")});
  if (args.flag("force")) restore.push_back("--force");
  if (args.flag("json")) restore.push_back("--json");
  auto res = run_self(restore);
  if (!keep) ::unlink(file.c_str());
  if (!res) throw std::runtime_error(res.error().message());
  std::fputs(res->stdout_text.c_str(), stdout);
  return res->exit_code;
}

}  // namespace migclock::testvmm
