// migclock-agent: the per-host daemon. Edges only: flags and config
// (exceptions end here), signals, systemd notification, wiring the core to
// the local API socket.
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "migclock/agent/agent.hpp"
#include "migclock/agent/cli.hpp"
#include "migclock/agent/local_api.hpp"
#include "migclock/agent/unix_http_server.hpp"

using namespace migclock;
using namespace migclock::agent;

namespace {

void setup_logging(const std::string& level) {
  static bool once = false;
  if (!once) {
    auto logger = spdlog::stderr_color_mt("migclock-agent");
    spdlog::set_default_logger(logger);
    // journald adds its own timestamps, but a hand-started agent needs them.
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%f %^%l%$ %v");
    once = true;
  }
  spdlog::set_level(spdlog::level::from_str(level));
}

int run(const CliOptions& cli) {
  AgentConfig cfg = effective_config(cli.flags);
  setup_logging(cfg.log_level);
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&sigs, s);
  // Blocked before any thread starts so only sigtimedwait below sees them.
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  spdlog::info("migclock-agent {} starting: libvirt {}, socket {}, state {}, sync policy {}, tsc pin policy {}",
               MIGCLOCK_VERSION, cfg.libvirt_uri, cfg.effective_socket_path(), cfg.effective_state_dir(),
               to_string(cfg.sync_policy), to_string(cfg.tsc_pin_policy));
  Agent agent(cfg, SystemTimeSource::instance());
  agent.start();
  LocalApi api(agent);
  const uid_t self = ::getuid();
  std::mutex group_mu;  // SIGHUP may change the group while connections arrive
  std::string group = cfg.socket_group;
  UnixHttpServer server([&api](const ApiRequest& r) { return api.handle(r); },
                        [&](const PeerCred& p) {
                          std::lock_guard<std::mutex> lock(group_mu);
                          return peer_allowed(p, group, self);
                        },
                        [&agent] { agent.metrics().refused_peers++; });
  if (auto st = server.start(cfg.effective_socket_path(), cfg.socket_group); !st) {
    spdlog::critical("{}", st.error().message());
    agent.stop();
    return 1;
  }
  spdlog::info("local API listening on {}", cfg.effective_socket_path());
  sd_notifyf(0, "READY=1\nSTATUS=serving on %s, libvirt %s", cfg.effective_socket_path().c_str(),
             cfg.libvirt_uri.c_str());

  uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  const long tick_ms = watchdog ? static_cast<long>(watchdog_usec / 2000) : 1000;
  while (true) {
    timespec ts{tick_ms / 1000, (tick_ms % 1000) * 1000000};
    const int sig = sigtimedwait(&sigs, nullptr, &ts);
    if (watchdog) sd_notify(0, "WATCHDOG=1");
    if (sig == SIGHUP) {
      sd_notify(0, "RELOADING=1");
      try {
        AgentConfig next = effective_config(cli.flags);
        setup_logging(next.log_level);
        {
          std::lock_guard<std::mutex> lock(group_mu);
          group = next.socket_group;
        }
        spdlog::info("SIGHUP: configuration reloaded ({})", agent.reload(std::move(next)));
      } catch (const ConfigError& e) {
        spdlog::error("SIGHUP: configuration not reloaded, keeping the running one: {}", e.what());
      }
      sd_notify(0, "READY=1");
    } else if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      sd_notify(0, "STOPPING=1");
      server.stop();
      agent.stop();
      spdlog::info("stopped");
      return 0;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const CliOptions cli = parse_cli(std::vector<std::string>(argv + 1, argv + argc));
    if (cli.help) {
      std::cout << cli_help();
      return 0;
    }
    if (cli.version) {
      std::cout << "migclock-agent " << MIGCLOCK_VERSION << "\n";
      return 0;
    }
    if (cli.check_config) {
      const AgentConfig cfg = effective_config(cli.flags);
      std::cout << describe_config(cfg);
      const auto problems = config_problems(cfg);
      for (const auto& p : problems) std::cerr << "migclock-agent: " << p << "\n";
      return problems.empty() ? 0 : 2;
    }
    return run(cli);
  } catch (const ConfigError& e) {
    std::cerr << "migclock-agent: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "migclock-agent: fatal: " << e.what() << "\n";
    return 1;
  }
}
