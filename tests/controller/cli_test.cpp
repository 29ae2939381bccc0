// migclockctl against a real controller: tables, --json, env config,
// watch following a migration to its end, errors and exit codes.
#include <sys/wait.h>

#include <thread>

#include "fixture.hpp"

namespace migclock::controller::testing {
namespace {

using migclock::testing::dev_certs;

struct Cli : ControllerFixture {
  std::string run(const std::string& args, int* code, const std::string& token = "") {
    std::string cmd = "MIGCLOCK_SERVER=" + url() + " MIGCLOCK_CA=" + dev_certs().ca + " MIGCLOCK_TOKEN=" +
                      (token.empty() ? read_token : token) + " " MIGCLOCKCTL_BIN " " + args + " 2>&1";
    std::string out;
    FILE* f = popen(cmd.c_str(), "r");
    char buf[1024];
    while (f && fgets(buf, sizeof buf, f)) out += buf;
    int st = pclose(f);
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
  }
};

TEST_F(Cli, HostsAndVmsAsTablesAndJson) {
  register_host("hv-a", 2'899'998, R"([{"uuid":"u1","name":"web1","state":"running"}])");
  int code = 0;
  auto out = run("hosts", &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("HOST"), std::string::npos);
  EXPECT_NE(out.find("hv-a"), std::string::npos);
  EXPECT_NE(out.find("2899998"), std::string::npos);
  auto js = run("--json hosts", &code);
  EXPECT_EQ(code, 0);
  auto d = net::parse_object(js);
  ASSERT_TRUE(d.ok()) << js;
  EXPECT_STREQ((*d)["items"][0]["hostname"].GetString(), "hv-a");
  out = run("vms", &code);
  EXPECT_NE(out.find("web1"), std::string::npos);
  EXPECT_NE(out.find("hv-a"), std::string::npos);
  EXPECT_EQ(code, 0);
}

TEST_F(Cli, MigrationsListShowAndWatchToTheEnd) {
  register_host("hv-a");  // an event's host is a registered one
  register_host("hv-b");
  std::string id = announce("u9");
  int code = 0;
  auto out = run("migrations list", &code);
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find(id), std::string::npos);
  EXPECT_NE(out.find("announced"), std::string::npos);
  std::thread driver([&] {
    for (const char* p : {"shipped", "resumed", "synced", "verified"}) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      agent_of("hv-b", "POST", "/api/v1/migrations/" + id + "/events", std::string(R"({"phase":")") + p + R"(","host":"hv-b","at_ns":5})");
    }
  });
  auto watched = run("migrations watch " + id + " --timeout-s 30", &code);
  driver.join();
  EXPECT_EQ(code, 0) << watched;
  // Every phase change showed up live, ending with verified.
  for (const char* p : {"[announced]", "[shipped]", "[resumed]", "[synced]", "[verified]"})
    EXPECT_NE(watched.find(p), std::string::npos) << p << " missing in:\n" << watched;
  out = run("migrations show " + id, &code);
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("phase verified"), std::string::npos) << out;
  // A failed migration: watch exits 3.
  std::string id2 = announce("u10");
  agent("POST", "/api/v1/migrations/" + id2 + "/events", R"({"phase":"failed","host":"hv-a","at_ns":1,"reason":"disk full"})");
  out = run("migrations watch " + id2 + " --timeout-s 30", &code);
  EXPECT_EQ(code, 3);
  EXPECT_NE(out.find("disk full"), std::string::npos);
}

TEST_F(Cli, PreflightAndSyncAndErrors) {
  register_host("hv-a", 2'899'998, R"([{"uuid":"u1","name":"web1","state":"running"}])");
  register_host("hv-b", 2'899'998, "[]", R"("offset_honoured":"no","masterclock_possible":true,"invtsc":"yes")");
  int code = 0;
  auto out = run("preflight web1 hv-a hv-b", &code);
  EXPECT_EQ(code, 3) << out;
  EXPECT_NE(out.find("NOT COMPATIBLE"), std::string::npos);
  EXPECT_NE(out.find("offset_writes_honoured"), std::string::npos);
  out = run("--json sync web1", &code, write_token);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("\"kind\":\"sync\""), std::string::npos) << out;
  // Read token may not sync: 403 and exit 1 with the server's message.
  out = run("sync web1", &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("403 forbidden"), std::string::npos) << out;
  out = run("migrations show m-missing", &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("404"), std::string::npos);
  out = run("migrations frobnicate", &code);
  EXPECT_EQ(code, 2);
  out = run("--help", &code);
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("preflight"), std::string::npos);
  out = run("hosts --help", &code);
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("usage: migclockctl"), std::string::npos);
  // Untrusted server: the CA is required.
  std::string cmd = std::string(MIGCLOCKCTL_BIN) + " --server " + url() + " --token x hosts >/dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 1);
}

}  // namespace
}  // namespace migclock::controller::testing
