// libFuzzer: the JSON decoder must never crash, leak or throw, whatever the
// text; what it accepts must survive a JSON and a binary round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "migclock/serialization/snapshot_io.hpp"
#include "migclock/serialization/summary.hpp"
#include "migclock/serialization/validate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace migclock::serialization;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto snap = decode(text, Format::json);
  if (!snap) return 0;
  (void)validate(*snap);
  (void)describe(*snap);  // the human summary must cope with any decoded values
  auto json = encode(*snap, Format::json);
  if (!json) std::abort();
  auto from_json = decode(*json, Format::json);
  if (!from_json) std::abort();
  auto binary = encode(*from_json, Format::binary);
  if (!binary || !decode(*binary, Format::binary)) std::abort();
  auto json_again = encode(*from_json, Format::json);
  if (!json_again || *json_again != *json) std::abort();
  return 0;
}
