// Wiring the controller hand-off (shipper.hpp) into the agent: its
// settings, and what a controller command does here.
#include <spdlog/spdlog.h>

#include "migclock/agent/agent.hpp"

namespace migclock::agent {

void Agent::start_shipping(const AgentConfig& cfg) {
  if (cfg.controller_url.empty()) {
    spdlog::info("no controller configured: snapshots stay in {}", outbox_.dir());
    return;
  }
  ControllerSettings s;
  s.url = cfg.controller_url;
  s.ca_file = cfg.controller_ca_file;
  s.hostname = host_.facts.hostname;
  if (!cfg.controller_token_file.empty()) {
    auto t = read_token_file(cfg.controller_token_file);
    if (!t) {
      spdlog::error("{}: not talking to the controller", t.error().message());
      return;
    }
    s.token = *t;
  }
  controller_ = s;
  shipper_ = std::make_unique<Shipper>(
      s, Shipper::Parts{time_, outbox_, inventory_, host_, metrics_, [this] { return config().outbox_retry_s; },
                        [this](const ControllerCommand& c) { return run_command(c); }});
  shipper_->start();
  spdlog::info("controller {}: shipping snapshots as host {}", cfg.controller_url, s.hostname);
}

Status Agent::run_command(const ControllerCommand& c) {
  if (c.kind != protocol::kCommandSync) return make_error(errc::not_supported, "command kind '" + c.kind + "'");
  return request_sync(c.vm_uuid, SyncCause::command(c.id));
}

void Agent::wake_shipper() {
  if (shipper_) shipper_->wake();
}

}  // namespace migclock::agent
