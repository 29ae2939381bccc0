// Decoders refuse what the receiving side must refuse, naming the field:
// issue 12's guards (depth, UTF-8, duplicate keys) hold for every message.
#include "protocol_samples.hpp"

namespace migclock::protocol::testing {
namespace {

template <class T>
net::Problem refused(const std::string& body) {
  auto m = decode<T>(body);
  EXPECT_FALSE(m.ok()) << body;
  return m.ok() ? net::Problem{} : m.problem();
}

TEST(ProtocolHostile, DeepNestingIsRefusedBeforeParsing) {
  const std::string deep = R"({"phase":"synced","host":"h","at_ns":1,"results":)" + std::string(100'000, '[');
  EXPECT_EQ(refused<PhaseEvent>(deep).code, net::ApiErrc::invalid_json);
  EXPECT_EQ(refused<HookEvent>(std::string(200'000, '[')).code, net::ApiErrc::invalid_json);
}

TEST(ProtocolHostile, IllFormedUtf8IsABadRequest) {
  const auto p = refused<HookEvent>("{\"op\":\"start\",\"name\":\"\xff\xfe\"}");
  EXPECT_EQ(p.code, net::ApiErrc::bad_request);
  EXPECT_EQ(p.field, "name");
}

TEST(ProtocolHostile, DuplicateKeysAreRefused) {
  EXPECT_EQ(refused<MigrationAnnounce>(R"({"vm_uuid":"a","source":"h","source":"g"})").code, net::ApiErrc::invalid_json);
}

TEST(ProtocolHostile, UnknownPhase) {
  const auto p = refused<PhaseEvent>(R"({"phase":"teleported","host":"h","at_ns":1})");
  EXPECT_EQ(p.code, net::ApiErrc::bad_request);
  EXPECT_EQ(p.field, "phase");
}

TEST(ProtocolHostile, KnownResultsFieldsAreTyped) {
  const auto p = refused<PhaseEvent>(R"({"phase":"synced","host":"h","at_ns":1,"results":{"sync_rtt_ns":"fast"}})");
  EXPECT_EQ(p.field, "results.sync_rtt_ns");
  // Unknown fields pass: the controller merges them.
  EXPECT_TRUE(decode<PhaseEvent>(R"({"phase":"synced","host":"h","at_ns":1,"results":{"note":"x"}})").ok());
}

TEST(ProtocolHostile, EnumsOnlyByTheirNames) {
  std::string body = encode(sample_registration());
  body.replace(body.find("\"yes\""), 5, "\"maybe\"");
  EXPECT_EQ(refused<HostRegistration>(body).field, "offset_honoured");
}

TEST(ProtocolHostile, TooManyVms) {
  HostRegistration h = sample_registration();
  h.vms.assign(kMaxVmsPerHost + 1, VmEntry{"u", "n", "running"});
  const auto p = refused<HostRegistration>(encode(h));
  EXPECT_EQ(p.code, net::ApiErrc::bad_request);
  EXPECT_EQ(p.field, "vms");
}

TEST(ProtocolHostile, RequiredFields) {
  EXPECT_EQ(refused<HookEvent>(R"({"op":""})").field, "op");
  EXPECT_EQ(refused<HookEvent>(R"({"name":"x"})").field, "op");
  EXPECT_EQ(refused<MigrateBeginRequest>(R"({"name":"x","xml":""})").field, "xml");
  EXPECT_EQ(refused<CommandBatch>(R"([{"id":"c","kind":"sync"}])").field, "vm_uuid");
  EXPECT_EQ(refused<CommandBatch>(R"({"id":"c"})").code, net::ApiErrc::invalid_json);
  EXPECT_EQ(refused<RestoreInputs>(R"({"source":"h","realtime_offset_ns":1,"uncertainty_ns":1,"measured_at_ns":1})").field,
            "snapshot");
  EXPECT_EQ(refused<HookEvent>(R"({"op":")" + std::string(kMaxHookField + 1, 'x') + "\"}").field, "op");
}

TEST(ProtocolHostile, ClientsSeeMalformedInput) {
  auto r = parse<TimeReply>(R"({"t2_ns":1})", "POST /api/v1/time");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::malformed_input));
  EXPECT_NE(r.error().message().find("POST /api/v1/time: t3_ns"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace migclock::protocol::testing
