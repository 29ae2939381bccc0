// The real channels: the guest agent through virDomainQemuAgentCommand and
// the QEMU monitor through virDomainQemuMonitorCommand (libvirt-qemu).
// Note: libvirt marks a domain "tainted: custom-ga-command" /
// "custom-monitor" the first time these are used on it (a log line, nothing
// else).
#pragma once

#include <libvirt/libvirt.h>

#include <memory>
#include <string>

#include "migclock/agent_sync/guest_agent_channel.hpp"
#include "migclock/agent_sync/libvirt_error.hpp"

namespace migclock::agent_sync {

// Holds its own reference on the domain (virDomainRef / virDomainFree), and
// on the connection when it opened it.
class LibvirtDomainHandle {
 public:
  // Borrows an existing domain (takes a reference; the caller keeps its own).
  explicit LibvirtDomainHandle(virDomainPtr domain);
  // Opens `uri` and looks the domain up by name, then by UUID string.
  static Result<std::shared_ptr<LibvirtDomainHandle>> open(const std::string& uri, const std::string& name_or_uuid);
  ~LibvirtDomainHandle();
  LibvirtDomainHandle(const LibvirtDomainHandle&) = delete;
  LibvirtDomainHandle& operator=(const LibvirtDomainHandle&) = delete;

  virDomainPtr domain() const { return domain_; }
  virConnectPtr connection() const { return virDomainGetConnect(domain_); }

 private:
  LibvirtDomainHandle(virConnectPtr owned_conn, virDomainPtr owned_domain);
  virConnectPtr owned_conn_ = nullptr;
  virDomainPtr domain_ = nullptr;
};

class LibvirtGuestAgentChannel final : public GuestAgentChannel {
 public:
  explicit LibvirtGuestAgentChannel(std::shared_ptr<LibvirtDomainHandle> domain) : domain_(std::move(domain)) {}
  // libvirt takes whole seconds: the timeout is rounded up, at least 1 s.
  Result<std::string> command(const std::string& json, std::chrono::milliseconds timeout) override;

 private:
  std::shared_ptr<LibvirtDomainHandle> domain_;
};

class LibvirtQemuMonitorChannel final : public QemuMonitorChannel {
 public:
  explicit LibvirtQemuMonitorChannel(std::shared_ptr<LibvirtDomainHandle> domain) : domain_(std::move(domain)) {}
  Result<std::string> command(const std::string& json) override;

 private:
  std::shared_ptr<LibvirtDomainHandle> domain_;
};

}  // namespace migclock::agent_sync
