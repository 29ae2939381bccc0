// migclock-hook: the libvirt qemu hook. Reports every call to the local
// migclock agent with a short timeout, and filters the domain XML on
// `migrate begin`. Never calls libvirt (libvirt is waiting for us, holding
// locks: a call back would deadlock) and never waits long (hooks have no
// timeout in libvirt).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "bounded_stdin.hpp"
#include "install.hpp"
#include "migclock/agent/domain_xml.hpp"
#include "run_hook.hpp"
#include "settings.hpp"

using namespace migclock::hook;

namespace {

const char* kHelp = R"(usage:
  <hooks dir>/qemu NAME OP SUB-OP EXTRA      (as libvirt runs it; domain XML on stdin)
  migclock-hook install [--hooks-dir DIR] [--drop-in] [--json]
  migclock-hook uninstall [--hooks-dir DIR] [--json]
  migclock-hook --help

As a hook: posts the call to the migclock agent of the daemon that ran it
($HOME/migclock/agent.sock of that daemon if present, else
/run/migclock/agent.sock; MIGCLOCK_AGENT_SOCKET or `socket =` in
$HOME/migclock/hook.conf or /etc/migclock/hook.conf override) and exits 0.
`migrate begin` (destination) prints the domain XML with the guest TSC pinned to
the source host's frequency when needed, or nothing (XML unchanged); with
`policy = strict` it exits 1 when the frequency cannot be honoured or the agent
does not answer, which aborts the migration before anything moves.

install: copies this binary to DIR/qemu (default /etc/libvirt/hooks), or to
DIR/qemu.d/50-migclock when another qemu hook is already there (never
overwritten). Restart or SIGHUP libvirt afterwards.
)";

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o;
}

std::string self_path() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

int admin(const std::vector<std::string>& args) {
  std::string dir = kDefaultHooksDir;
  bool drop_in = false, json = false;
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--hooks-dir" && i + 1 < args.size()) dir = args[++i];
    else if (args[i] == "--drop-in") drop_in = true;
    else if (args[i] == "--json") json = true;
    else if (args[i] == "--help") { std::cout << kHelp; return 0; }
    else {
      std::cerr << "migclock-hook: unknown argument '" << args[i] << "'\n";
      return 2;
    }
  }
  auto r = args[1] == "install" ? install_hook(dir, self_path(), drop_in) : uninstall_hook(dir);
  if (!r) {
    if (json) std::cout << "{\"ok\":false,\"error\":\"" << json_escape(r.error().message()) << "\"}\n";
    else std::cerr << "migclock-hook: " << args[1] << ": " << r.error().message() << "\n";
    return 1;
  }
  if (json) std::cout << "{\"ok\":true,\"path\":\"" << json_escape(r->path) << "\",\"note\":\"" << json_escape(r->note) << "\"}\n";
  else std::cout << (r->path.empty() ? "" : r->path + ": ") << r->note << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  if (argc >= 2 && (args[1] == "--help" || args[1] == "-h")) {
    std::cout << kHelp;
    return 0;
  }
  if (argc >= 2 && (args[1] == "install" || args[1] == "uninstall")) return admin(args);
  std::string error;
  auto call = parse_hook_call(args, &error);
  if (!call) {
    // libvirt always passes four; whatever ran us otherwise, a hook must
    // never be what aborts a migration: say so and fail open.
    std::cerr << "migclock-hook: " << error << " (see --help); nothing done\n";
    return 0;
  }
  // libvirt writes the XML and closes stdin; read it (so it never blocks
  // on a full pipe), but within a size and a time bound.
  StdinRead in = read_bounded(STDIN_FILENO);
  if (!in.problem.empty()) std::cerr << "migclock-hook: " << in.problem << "\n";
  call->xml = std::move(in.data);
  call->uuid = migclock::agent::xml_text_of(call->xml, "uuid");
  const HookSettings settings = resolve_settings();
  if (!settings.error.empty()) std::cerr << "migclock-hook: " << settings.error << " (ignored)\n";
  std::string out, err;
  const int rc = run_hook(*call, settings, out, err);
  if (!out.empty()) std::fwrite(out.data(), 1, out.size(), stdout);
  if (!err.empty()) std::fwrite(err.data(), 1, err.size(), stderr);
  return rc;
}
