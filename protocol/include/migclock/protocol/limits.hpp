// Bounds on what a peer may send, shared by the decoders and the
// controller core (hostile input: what is stored is returned by every read).
#pragma once

#include <cstddef>

namespace migclock::protocol {

inline constexpr std::size_t kMaxReasonBytes = 4096;  // reason / message strings
inline constexpr std::size_t kMaxHookField = 4096;    // the hook's strings: libvirt's names are short
inline constexpr std::size_t kMaxVmsPerHost = 4096;   // VMs in one heartbeat

}  // namespace migclock::protocol
