// `migclock snapshot inspect|validate|convert`: look at, check and convert
// snapshot files (.json or .mcs). Exit codes: 0 ok, 1 the file is bad
// (unreadable, undecodable or invalid), 2 usage. Errors go to stderr.
//
// cereal's JSON header comes first so the rapidjson it configures (asserts
// that throw) is the one every translation unit sees.
#include <cereal/archives/json.hpp>
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "migclock/serialization/envelope.hpp"
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

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void put(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

void print_json(const rapidjson::StringBuffer& buffer) { std::printf("%s\n", buffer.GetString()); }

// What reading a file told us, step by step, so inspect can show as much
// as it got before something failed.
struct Loaded {
  std::string path;
  Format format = Format::json;
  std::string bytes;
  std::optional<EnvelopeHeader> envelope;
  std::optional<snapshot::Snapshot> snap;
  std::vector<ValidationError> errors;
  std::optional<Error> failure;  // read or decode failure
};

Loaded load(const std::string& path) {
  Loaded l;
  l.path = path;
  auto format = format_for_path(path);
  if (!format) {
    l.failure = format.error();
    return l;
  }
  l.format = *format;
  auto bytes = read_snapshot_bytes(path);
  if (!bytes) {
    l.failure = bytes.error();
    return l;
  }
  l.bytes = std::move(*bytes);
  if (l.format == Format::binary) {
    if (auto header = read_envelope_header(l.bytes)) l.envelope = *header;
  }
  auto snap = decode(l.bytes, l.format);
  if (!snap) {
    l.failure = Error{snap.error().code, path + ": " + snap.error().context};
    return l;
  }
  l.snap = std::move(*snap);
  l.errors = validate(*l.snap);
  return l;
}

void report_problems(const char* command, const Loaded& l) {
  if (l.failure) {
    std::fprintf(stderr, "migclock snapshot %s: %s\n", command, l.failure->message().c_str());
    return;
  }
  std::fprintf(stderr, "migclock snapshot %s: %s: %zu validation error%s:\n", command, l.path.c_str(),
               l.errors.size(), l.errors.size() == 1 ? "" : "s");
  for (const auto& e : l.errors) std::fprintf(stderr, "  %s\n", e.to_string().c_str());
}

void write_checks(Writer& w, const Loaded& l) {
  w.Key("valid");
  w.Bool(!l.failure && l.errors.empty());
  if (l.failure) put(w, "error", l.failure->message());
  w.Key("validation_errors");
  w.StartArray();
  for (const auto& e : l.errors) {
    w.StartObject();
    put(w, "field", e.field);
    put(w, "rule", e.rule);
    put(w, "message", e.message);
    w.EndObject();
  }
  w.EndArray();
}

void write_file_facts(Writer& w, const Loaded& l) {
  put(w, "file", l.path);
  put(w, "format", format_name(l.format));
  w.Key("bytes");
  w.Uint64(l.bytes.size());
  if (l.envelope) {
    put(w, "format_version", std::to_string(l.envelope->major) + "." + std::to_string(l.envelope->minor));
    w.Key("payload_bytes");
    w.Uint(l.envelope->payload_length);
  }
}

// The --json report of inspect and validate: file facts, checks, and (for
// inspect) the snapshot itself in its JSON form.
void print_report(const Loaded& l, bool with_snapshot) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  write_file_facts(w, l);
  write_checks(w, l);
  if (with_snapshot && l.snap) {
    auto json = encode(*l.snap, Format::json);
    rapidjson::Document doc;  // our own encoding: parsing it cannot fail
    if (json && !doc.Parse(json->data(), json->size()).HasParseError()) {
      w.Key("snapshot");
      doc.Accept(w);
    }
  }
  w.EndObject();
  print_json(buffer);
}

int inspect(const Args& a) {
  if (a.positional.size() != 1) return usage_error("inspect takes exactly one FILE");
  Loaded l = load(a.positional[0]);
  const bool good = !l.failure && l.errors.empty();
  if (a.json) {
    print_report(l, true);
  } else if (l.snap) {
    std::printf("file:             %s (%s, %zu bytes", l.path.c_str(), format_name(l.format), l.bytes.size());
    if (l.envelope) std::printf(", format %u.%u", l.envelope->major, l.envelope->minor);
    std::printf(")\n%s", describe(*l.snap).c_str());
    std::printf("validation:       %s\n", l.errors.empty() ? "ok" : "FAILED (see stderr)");
  }
  if (!good) report_problems("inspect", l);
  return good ? kOk : kBadFile;
}

int validate_cmd(const Args& a) {
  if (a.positional.size() != 1) return usage_error("validate takes exactly one FILE");
  Loaded l = load(a.positional[0]);
  const bool good = !l.failure && l.errors.empty();
  if (a.json) {
    print_report(l, false);
  } else if (good) {
    std::printf("%s: valid (%s, %zu vCPUs)\n", l.path.c_str(), format_name(l.format), l.snap->vcpus.size());
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
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    put(w, "in", in);
    put(w, "out", out);
    put(w, "format", format_name(*out_format));
    w.Key("bytes");
    w.Int64(size);
    w.EndObject();
    print_json(buffer);
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
