// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of the
// binary envelope. Table-driven (slicing-by-8), no dependency, with the
// SSE4.2 instruction used instead when the CPU has it; check value
// crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace migclock::serialization {

// `seed` chains calls: crc32c(b, crc32c(a)) == crc32c(a + b).
uint32_t crc32c(const void* data, std::size_t size, uint32_t seed = 0);
// Always the table-driven version (tests compare it with the dispatching one).
uint32_t crc32c_portable(const void* data, std::size_t size, uint32_t seed = 0);
inline uint32_t crc32c(std::string_view bytes, uint32_t seed = 0) { return crc32c(bytes.data(), bytes.size(), seed); }

}  // namespace migclock::serialization
