#include "migclock/agent_sync/libvirt_error.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <cstdlib>

namespace migclock::agent_sync {

Error last_libvirt_error(const std::string& context, errc otherwise) {
  virErrorPtr err = virGetLastError();
  if (err == nullptr) return make_error(otherwise, context + ": libvirt reported no error");
  const std::string what = context + ": " + (err->message ? err->message : "unknown libvirt error");
  switch (err->code) {
    case VIR_ERR_AGENT_UNRESPONSIVE:
    case VIR_ERR_OPERATION_INVALID:  // e.g. "domain is not running" (incoming migration not resumed yet)
      return make_error(errc::unavailable, what);
    case VIR_ERR_OPERATION_TIMEOUT:
      return make_error(errc::timeout, what);
    case VIR_ERR_NO_DOMAIN:
      return make_error(errc::not_found, what);
    default:
      return make_error(otherwise, what);
  }
}

std::string take_libvirt_string(char* s) {
  std::string out = s ? s : "";
  std::free(s);
  return out;
}

}  // namespace migclock::agent_sync
