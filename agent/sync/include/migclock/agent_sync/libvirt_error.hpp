// The one place a libvirt failure becomes a migclock Error (and a string
// libvirt returned becomes a std::string) (the agent and
// the sync channels both use it, so a code means the same thing anywhere).
#pragma once

#include <string>

#include "migclock/common/result.hpp"

namespace migclock::agent_sync {

// Maps the calling thread's last libvirt error to an Error whose message is
// "<context>: <libvirt's message>":
//   agent not connected / domain not running -> errc::unavailable,
//   timeouts -> errc::timeout, no such domain -> errc::not_found,
//   anything else (and no error recorded) -> `otherwise`.
// `otherwise` lets a caller say what an unclassified failure means to it:
// the agent's connection and inventory calls treat it as libvirt being
// unavailable, the guest channels as an I/O failure.
Error last_libvirt_error(const std::string& context, errc otherwise = errc::io_error);

// libvirt hands out malloc'd strings: the text ("" for NULL), freed.
std::string take_libvirt_string(char* s);

}  // namespace migclock::agent_sync
