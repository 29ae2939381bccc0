#include "migclock/agent/libvirt_handles.hpp"

#include <libvirt/virterror.h>

#include "migclock/agent_sync/libvirt_error.hpp"

namespace migclock::agent {

Error libvirt_error(const std::string& what) { return agent_sync::last_libvirt_error(what, errc::unavailable); }

namespace {
void ignore_error(void*, virErrorPtr) {}
}  // namespace

void quiet_libvirt_errors() { virSetErrorFunc(nullptr, ignore_error); }

Result<DomainHandle> lookup_domain(const ConnHandle& conn, const std::string& uuid) {
  if (!conn) return make_error(errc::unavailable, "libvirt: not connected");
  virDomainPtr d = virDomainLookupByUUIDString(conn.get(), uuid.c_str());
  if (!d) return libvirt_error("virDomainLookupByUUIDString " + uuid);
  return DomainHandle(d);
}

Result<std::string> libvirt_capabilities(const std::string& uri) {
  std::unique_ptr<virConnect, ConnCloser> conn(virConnectOpen(uri.c_str()));
  if (!conn) return libvirt_error("virConnectOpen " + uri);
  char* caps = virConnectGetCapabilities(conn.get());
  if (!caps) return libvirt_error("virConnectGetCapabilities");
  return take_libvirt_string(caps);
}

}  // namespace migclock::agent
