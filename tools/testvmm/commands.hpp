// The testvmm's commands; each returns the process exit status.
#pragma once

namespace migclock::testvmm {

// Exit statuses shared by the commands (and documented in --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRefused = 3;    // the snapshot cannot be honoured here
inline constexpr int kExitViolated = 4;   // continuity violated on a property the host honours

int cmd_capture(int argc, char** argv);
int cmd_restore(int argc, char** argv);
int cmd_migrate(int argc, char** argv);

}  // namespace migclock::testvmm
