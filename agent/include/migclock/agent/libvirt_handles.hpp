// Typed owners of libvirt objects and the one place libvirt errors become
// migclock Errors.
#pragma once

#include <libvirt/libvirt.h>

#include <memory>
#include <string>

#include "migclock/agent_sync/libvirt_error.hpp"
#include "migclock/common/result.hpp"

namespace migclock::agent {

struct ConnCloser {
  void operator()(virConnectPtr c) const noexcept { if (c) virConnectClose(c); }
};
struct DomainFreer {
  void operator()(virDomainPtr d) const noexcept { if (d) virDomainFree(d); }
};

// Shared so an API call in flight keeps its connection alive across a
// reconnect; the last owner closes it.
using ConnHandle = std::shared_ptr<virConnect>;
using DomainHandle = std::unique_ptr<virDomain, DomainFreer>;

// "<what>: <libvirt's last error message>": agent_sync::last_libvirt_error
// (the one mapper), with errc::unavailable for what it does not classify.
Error libvirt_error(const std::string& what);

// Silences libvirt's default error printer (we log every error ourselves).
void quiet_libvirt_errors();

Result<DomainHandle> lookup_domain(const ConnHandle& conn, const std::string& uuid);

// virConnectGetCapabilities() over a short-lived connection to `uri`.
Result<std::string> libvirt_capabilities(const std::string& uri);

using agent_sync::take_libvirt_string;  // one copy, beside libvirt's error mapping

}  // namespace migclock::agent
