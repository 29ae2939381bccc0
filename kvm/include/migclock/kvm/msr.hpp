// The MSRs of a vCPU's clock state (arch/x86/include/asm/msr-index.h,
// arch/x86/include/uapi/asm/kvm_para.h).
#pragma once

#include <array>
#include <cstdint>

namespace migclock::kvm::msr {

inline constexpr uint32_t kIa32Tsc = 0x00000010;
inline constexpr uint32_t kIa32TscAdjust = 0x0000003b;
inline constexpr uint32_t kKvmWallClockNew = 0x4b564d00;
inline constexpr uint32_t kKvmSystemTimeNew = 0x4b564d01;
inline constexpr uint32_t kKvmStealTime = 0x4b564d03;

// Everything capture reads per vCPU, in one KVM_GET_MSRS (a vCPU ioctl costs
// ~6 µs on PVM, so one call, not five).
inline constexpr std::array<uint32_t, 5> kClockMsrs = {kIa32Tsc, kIa32TscAdjust, kKvmSystemTimeNew, kKvmWallClockNew,
                                                       kKvmStealTime};

}  // namespace migclock::kvm::msr
