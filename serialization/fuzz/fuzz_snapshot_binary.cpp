// libFuzzer: the binary envelope + portable-binary decoder must never crash,
// leak or throw, whatever the bytes; what it accepts must re-encode to bytes
// that decode and re-encode identically (decoder and encoder agree), also
// through the JSON form.
//
// A mutated payload almost never keeps a valid CRC32C, so each input is
// tried twice: as is (the envelope checks) and re-sealed with a correct
// header (the payload decoder behind them).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "migclock/serialization/envelope.hpp"
#include "migclock/serialization/snapshot_io.hpp"
#include "migclock/serialization/summary.hpp"
#include "migclock/serialization/validate.hpp"

namespace {

using namespace migclock::serialization;

void check(std::string_view bytes) {
  auto snap = decode(bytes, Format::binary);
  if (!snap) return;
  const auto errors = validate(*snap);
  (void)describe(*snap);  // the human summary must cope with any decoded values
  auto again = encode(*snap, Format::binary);
  if (!again) std::abort();
  auto twice = decode(*again, Format::binary);
  if (!twice) std::abort();
  auto third = encode(*twice, Format::binary);
  if (!third || *third != *again) std::abort();
  // The JSON form refuses a string holding NUL, which the binary form
  // carries and validation refuses (printable_string); anything else it
  // must read back to the same snapshot.
  auto json = encode(*twice, Format::json);
  if (!json) std::abort();
  auto from_json = decode(*json, Format::json);
  if (!from_json) {
    const bool control = std::any_of(errors.begin(), errors.end(),
                                     [](const ValidationError& e) { return e.rule == "printable_string"; });
    if (!control) std::abort();
    return;
  }
  auto back = encode(*from_json, Format::binary);
  if (!back || *back != *again) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check(bytes);
  if (size >= kEnvelopeHeaderBytes) {
    const std::string resealed = seal_envelope(bytes.substr(kEnvelopeHeaderBytes));
    check(resealed);
  }
  return 0;
}
