// libFuzzer: the binary envelope + portable-binary decoder must never crash,
// leak or throw, whatever the bytes; what it accepts must re-encode and
// decode to the same bytes (the decoder and encoder agree).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "migclock/serialization/snapshot_io.hpp"
#include "migclock/serialization/validate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace migclock::serialization;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto snap = decode(bytes, Format::binary);
  if (!snap) return 0;
  (void)validate(*snap);
  auto again = encode(*snap, Format::binary);
  if (!again) std::abort();
  auto twice = decode(*again, Format::binary);
  if (!twice) std::abort();
  auto third = encode(*twice, Format::binary);
  if (!third || *third != *again) std::abort();
  return 0;
}
