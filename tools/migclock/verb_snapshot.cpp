// `migclock snapshot inspect|validate|convert`: look at, check and convert
// snapshot files (.json or .mcs). Exit codes: 0 ok, 1 the file is bad
// (unreadable, undecodable or invalid), 2 usage. Errors go to stderr.
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "migclock/serialization/file_report.hpp"
#include "migclock/serialization/snapshot_io.hpp"
#include "migclock/serialization/summary.hpp"
#include "migclock/serialization/validate.hpp"
#include "verb.hpp"

namespace {

using namespace migclock;
using namespace migclock::serialization;

constexpr int kOk = 0;
constexpr int kBadFile = 1;
constexpr int kUsage = 2;

const char kHelp[] =
    "usage: migclock snapshot <command> [options]\n"
    "\n"
    "commands:\n"
    "  inspect FILE [--json]        print a summary of a snapshot (--json: the full\n"
    "                               snapshot and its checks as one JSON object)\n"
    "  validate FILE [--json]       exit 0 if FILE loads and passes every rule,\n"
    "                               1 with the reasons otherwise\n"
    "  convert IN OUT [--force] [--json]\n"
    "                               convert between JSON (.json) and the binary\n"
    "                               envelope (.mcs), by extension; IN must be\n"
    "                               valid; OUT is written atomically and is not\n"
    "                               replaced unless --force\n"
    "\n"
    "Formats and rules: docs/snapshot-format.md. Exit status: 0 ok, 1 bad or\n"
    "unreadable file, 2 usage error.\n";

struct Args {
  std::vector<std::string> positional;
  bool json = false;
  bool force = false;
  bool help = false;
  std::string unknown;
};

Args parse(int argc, char** argv, int first) {
  Args a;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--json") a.json = true;
    else if (arg == "--force") a.force = true;
    else if (arg == "--help" || arg == "-h") a.help = true;
    else if (arg.size() > 1 && arg[0] == '-' && a.unknown.empty()) a.unknown = arg;
    else a.positional.push_back(arg);
  }
  return a;
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "migclock snapshot: %s\n\n%s", message.c_str(), kHelp);
  return kUsage;
}

int fail(const char* command, const std::string& message) {
  std::fprintf(stderr, "migclock snapshot %s: %s\n", command, message.c_str());
  return kBadFile;
}

void report_problems(const char* command, const FileReport& r) {
  if (r.failure) {
    std::fprintf(stderr, "migclock snapshot %s: %s\n", command, r.failure->message().c_str());
    return;
  }
  std::fprintf(stderr, "migclock snapshot %s: %s: %zu validation error%s:\n", command, r.path.c_str(),
               r.errors.size(), r.errors.size() == 1 ? "" : "s");
  for (const auto& e : r.errors) std::fprintf(stderr, "  %s\n", e.to_string().c_str());
}

int inspect(const Args& a) {
  if (a.positional.size() != 1) return usage_error("inspect takes exactly one FILE");
  FileReport l = examine_file(a.positional[0]);
  const bool good = l.ok();
  if (a.json) {
    std::printf("%s", file_report_json(l, true).c_str());
  } else if (l.snapshot) {
    std::printf("file:             %s (%s, %zu bytes", l.path.c_str(), format_name(l.format), l.bytes);
    if (l.envelope) std::printf(", format %u.%u", l.envelope->major, l.envelope->minor);
    std::printf(")\n%s", describe(*l.snapshot).c_str());
    std::printf("validation:       %s\n", l.errors.empty() ? "ok" : "FAILED (see stderr)");
  }
  if (!good) report_problems("inspect", l);
  return good ? kOk : kBadFile;
}

int validate_cmd(const Args& a) {
  if (a.positional.size() != 1) return usage_error("validate takes exactly one FILE");
  FileReport l = examine_file(a.positional[0]);
  const bool good = l.ok();
  if (a.json) {
    std::printf("%s", file_report_json(l, false).c_str());
  } else if (good) {
    std::printf("%s: valid (%s, %zu vCPUs)\n", l.path.c_str(), format_name(l.format), l.snapshot->vcpus.size());
  }
  if (!good) report_problems("validate", l);
  return good ? kOk : kBadFile;
}

int convert(const Args& a) {
  if (a.positional.size() != 2) return usage_error("convert takes IN and OUT");
  const std::string& in = a.positional[0];
  const std::string& out = a.positional[1];
  auto out_format = format_for_path(out);
  if (!out_format) return fail("convert", out_format.error().message());
  struct stat st {};
  if (!a.force && ::stat(out.c_str(), &st) == 0)
    return fail("convert", out + " exists (use --force to replace it)");
  auto snap = load_file(in);
  if (!snap) return fail("convert", snap.error().message());
  if (auto saved = save_file(out, *snap); !saved) return fail("convert", saved.error().message());
  struct stat written {};
  const long long size = ::stat(out.c_str(), &written) == 0 ? static_cast<long long>(written.st_size) : -1;
  if (a.json) {
    std::printf("%s", convert_report_json(in, out, *out_format, size).c_str());
  } else {
    std::printf("%s -> %s (%s, %lld bytes)\n", in.c_str(), out.c_str(), format_name(*out_format), size);
  }
  return kOk;
}

int run(int argc, char** argv) {
  if (argc < 2) return usage_error("missing command");
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::printf("%s", kHelp);
    return kOk;
  }
  Args a = parse(argc, argv, 2);
  if (a.help) {
    std::printf("%s", kHelp);
    return kOk;
  }
  if (!a.unknown.empty()) return usage_error("unknown option " + a.unknown);
  if (command == "inspect") return inspect(a);
  if (command == "validate") return validate_cmd(a);
  if (command == "convert") return convert(a);
  return usage_error("unknown command '" + command + "'");
}

const migclock::cli::VerbRegistrar registrar("snapshot", "inspect, validate or convert a clock snapshot file", run);

}  // namespace
