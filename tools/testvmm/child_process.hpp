// Runs this program again as a child (the restore side of a migration must
// be a different process: KVM ties a VM to the process that created it).
#pragma once

#include <string>
#include <vector>

#include "migclock/common/result.hpp"

namespace migclock::testvmm {

struct ChildResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string stdout_text;
};

// fork + exec of /proc/self/exe with `args`; stdout captured, stderr shared.
Result<ChildResult> run_self(const std::vector<std::string>& args);

}  // namespace migclock::testvmm
