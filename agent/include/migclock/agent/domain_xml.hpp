// Reading and editing libvirt domain XML by surgical text edits.
//
// The `migrate begin` filter must change nothing but <clock>: re-serialising
// a parsed tree would reorder attributes, quotes and whitespace everywhere,
// so edits here touch only the bytes of the <clock> element and leave every
// other byte of the document as libvirt wrote it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "migclock/common/result.hpp"

namespace migclock::agent {

// The <clock …> element of the domain, verbatim (self-closing or with
// children), or nullopt if the domain has none.
std::optional<std::string> clock_element(const std::string& xml);

// <timer name='tsc' frequency='HZ'/> inside <clock>: the pinned TSC
// frequency in Hz, if any.
std::optional<uint64_t> tsc_timer_frequency_hz(const std::string& xml);

// The guest CPU requires the invariant TSC (<feature policy='require|force'
// name='invtsc'/>): QEMU then refuses migration without an explicit
// tsc-frequency.
bool requires_invtsc(const std::string& xml);
// <clock><timer name='rtc' tickpolicy='catchup'/>: QEMU re-injects the RTC
// interrupts missed while the guest was stopped, on top of a clock step,
// unless rtc-reset-reinjection clears them.
bool rtc_catches_up(const std::string& xml);

// State of the org.qemu.guest_agent.0 channel in live XML: true
// (state='connected'), false (disconnected), nullopt (no agent channel or
// no state attribute).
std::optional<bool> guest_agent_connected(const std::string& xml);

// The unix socket QEMU binds for the guest companion's channel (guest/,
// docs/guest-companion.md) in live XML:
//   <channel type='unix'><source mode='bind' path='P'/>
//     <target type='virtio' name='org.migclock.clock.0'/></channel>
// nullopt when the domain has no such channel (or it is not a bound unix
// socket, which the agent could not connect to).
std::optional<std::string> companion_socket_path(const std::string& xml);

// The value of attribute `attr` of our metadata element (see
// metadata_element()) in a domain XML, if present.
std::optional<std::string> migclock_metadata_attr(const std::string& xml, const std::string& attr);

// The namespace URI and element the agent stores in a running domain's
// metadata (virDomainSetMetadata) so the XML that travels with a migration
// names the source host and its TSC frequency.
inline constexpr const char* kMetadataUri = "https://migclock.dev/xmlns/agent/1";
inline constexpr const char* kMetadataPrefix = "migclock";
std::string metadata_element(const std::string& hostname, uint32_t tsc_khz);

// The document with <timer name='tsc' frequency='HZ'/> in <clock> (adding
// <clock> or the timer if missing, replacing an existing frequency). Every
// byte outside <clock> is unchanged.
Result<std::string> pin_tsc_frequency(const std::string& xml, uint64_t frequency_hz);

// <counter name='tsc' frequency='HZ' scaling='yes|no'/> in the host part
// of virConnectGetCapabilities() XML: libvirt's view of the host TSC.
struct CapabilitiesTsc {
  uint64_t frequency_hz = 0;
  std::optional<bool> scaling;  // absent when libvirt does not say
};
std::optional<CapabilitiesTsc> capabilities_tsc_counter(const std::string& capabilities_xml);

// Domain name and UUID from the XML (<name>, <uuid>), empty if absent.
std::string xml_text_of(const std::string& xml, const std::string& element);

}  // namespace migclock::agent
