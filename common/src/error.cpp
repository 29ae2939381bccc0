#include "migclock/common/result.hpp"

namespace migclock {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "migclock"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::invalid_argument: return "invalid argument";
      case errc::vcpu_count_mismatch: return "vCPU count mismatch";
      case errc::tsc_frequency_mismatch: return "TSC frequency cannot be honoured";
      case errc::realtime_in_future: return "snapshot realtime is in the future";
      case errc::would_step_backwards: return "clock would step backwards";
      case errc::not_supported: return "not supported by this host";
      case errc::malformed_input: return "malformed input";
      case errc::version_mismatch: return "unsupported format version";
      case errc::checksum_mismatch: return "checksum mismatch";
      case errc::too_large: return "too large";
      case errc::truncated: return "truncated";
      case errc::validation_failed: return "validation failed";
      case errc::io_error: return "I/O error";
      case errc::timeout: return "timed out";
      case errc::not_found: return "not found";
      case errc::conflict: return "conflict";
      case errc::unavailable: return "unavailable";
      case errc::forbidden: return "forbidden";
      case errc::unauthorized: return "unauthorized";
    }
    return "unknown migclock error";
  }
};

}  // namespace

const std::error_category& migclock_category() noexcept {
  static const Category category;
  return category;
}

std::string Error::message() const {
  if (context.empty()) return code.message();
  return context + ": " + code.message();
}

}  // namespace migclock
