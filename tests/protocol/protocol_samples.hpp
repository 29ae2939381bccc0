// One sample of every protocol message with every field set (distinct
// values, so a field read into the wrong member shows), and the round-trip
// check all tests share.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "migclock/protocol/command_messages.hpp"
#include "migclock/protocol/host_messages.hpp"
#include "migclock/protocol/local_messages.hpp"
#include "migclock/protocol/migration_messages.hpp"

namespace migclock::protocol::testing {

HostRegistration sample_registration();
ClockOffsetReport sample_offset();
MigrationAnnounce sample_announce();
SyncResults sample_sync_results();
Verification sample_verification();
PhaseEvent sample_event();
RestoreInputs sample_restore_inputs();  // carries a real snapshot
CommandBatch sample_commands();
CommandResult sample_command_result();
HookEvent sample_hook_event();
MigrateBeginReply sample_migrate_begin_reply();
VmmRestoreInputs sample_vmm_restore_inputs();

// encode → decode → encode gives the same bytes (and decode succeeds).
template <class T>
::testing::AssertionResult round_trips(const T& message) {
  const std::string json = encode(message);
  auto back = decode<T>(json, kMaxDepthWithSnapshot);
  if (!back) return ::testing::AssertionFailure() << back.problem().message << " decoding " << json;
  const std::string again = encode(*back);
  if (again != json) return ::testing::AssertionFailure() << json << "\n  came back as\n" << again;
  return ::testing::AssertionSuccess();
}

}  // namespace migclock::protocol::testing
