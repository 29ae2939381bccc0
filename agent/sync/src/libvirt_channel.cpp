#include "migclock/agent_sync/libvirt_channel.hpp"

#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

namespace migclock::agent_sync {

LibvirtDomainHandle::LibvirtDomainHandle(virDomainPtr domain) : domain_(domain) { virDomainRef(domain_); }

LibvirtDomainHandle::LibvirtDomainHandle(virConnectPtr owned_conn, virDomainPtr owned_domain)
    : owned_conn_(owned_conn), domain_(owned_domain) {}

LibvirtDomainHandle::~LibvirtDomainHandle() {
  if (domain_) virDomainFree(domain_);
  if (owned_conn_) virConnectClose(owned_conn_);
}

Result<std::shared_ptr<LibvirtDomainHandle>> LibvirtDomainHandle::open(const std::string& uri,
                                                                      const std::string& name_or_uuid) {
  virConnectPtr conn = virConnectOpen(uri.c_str());
  if (!conn) return last_libvirt_error("virConnectOpen(" + uri + ")");
  virDomainPtr dom = virDomainLookupByName(conn, name_or_uuid.c_str());
  if (!dom) {
    Error by_name = last_libvirt_error("domain " + name_or_uuid);
    // Only a canonical UUID string is worth a second lookup; otherwise the
    // name lookup's error (no such domain) is the one that explains.
    if (name_or_uuid.size() == 36) dom = virDomainLookupByUUIDString(conn, name_or_uuid.c_str());
    if (!dom) {
      virConnectClose(conn);
      return by_name;
    }
  }
  return std::shared_ptr<LibvirtDomainHandle>(new LibvirtDomainHandle(conn, dom));
}

Result<std::string> LibvirtGuestAgentChannel::command(const std::string& json, std::chrono::milliseconds timeout) {
  const long long ms = timeout.count() > 0 ? timeout.count() : 1;
  const int seconds = static_cast<int>((ms + 999) / 1000);
  char* reply = virDomainQemuAgentCommand(domain_->domain(), json.c_str(), seconds, 0);
  if (!reply) return last_libvirt_error("virDomainQemuAgentCommand");
  return take_libvirt_string(reply);
}

Result<std::string> LibvirtQemuMonitorChannel::command(const std::string& json) {
  char* reply = nullptr;
  if (virDomainQemuMonitorCommand(domain_->domain(), json.c_str(), &reply, 0) < 0) {
    return last_libvirt_error("virDomainQemuMonitorCommand");
  }
  return take_libvirt_string(reply);
}

}  // namespace migclock::agent_sync
