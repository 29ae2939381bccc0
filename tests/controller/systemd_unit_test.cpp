// systemd/migclock-controller.service.in, filled in as install fills it,
// passes `systemd-analyze verify`.
// PID 1 here is not systemd, but verify works on unit files given a root
// that holds the systemd units and the binary at the ExecStart path: the
// test builds such a temp root (the binary is installed into it).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "migclock/net/client.hpp"
#include "net_test_support.hpp"
#include "process.hpp"

namespace {

using migclock::controller::testing::Child;
using migclock::testing::dev_certs;

std::string run(const std::string& cmd, int* status) {
  std::string out;
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  char buf[512];
  while (f && fgets(buf, sizeof buf, f)) out += buf;
  *status = f ? pclose(f) : -1;
  return out;
}

struct UnitRoot {
  std::string root = migclock::testing::make_temp_dir("migclock-unit");
  UnitRoot() {
    int st = 0;
    run("mkdir -p " + root + "/usr/local/bin " + root + "/etc/systemd/system " + root + "/usr/lib/systemd && cp -a /usr/lib/systemd/system " +
            root + "/usr/lib/systemd/ && cp " MIGCLOCK_CONTROLLER_BIN " " + root + "/usr/local/bin/",
        &st);
  }
  ~UnitRoot() {
    int st = 0;
    run("rm -rf " + root, &st);
  }
  std::string verify(const std::string& unit_text, const std::string& name, int* st) {
    std::ofstream(root + "/etc/systemd/system/" + name) << unit_text;
    return run("systemd-analyze verify --man=no --root=" + root + " " + root + "/etc/systemd/system/" + name, st);
  }
};

// The template with install's substitutions (packaging/CMakeLists.txt);
// the unit root holds the binary in /usr/local/bin.
std::string unit_text() {
  std::ifstream f(std::string(MIGCLOCK_SOURCE_DIR) + "/systemd/migclock-controller.service.in");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"@MIGCLOCK_BINDIR@", "/usr/local/bin"},
                                 {"@MIGCLOCK_DOCDIR@", "/usr/local/share/doc/migclock-controller"}})
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at)) text.replace(at, from.size(), to);
  return text;
}

TEST(SystemdUnit, VerifiesCleanly) {
  int st = 0;
  if (system("command -v systemd-analyze >/dev/null") != 0) GTEST_SKIP() << "missing systemd-analyze";
  UnitRoot r;
  std::string text = unit_text();
  ASSERT_FALSE(text.empty());
  auto out = r.verify(text, "migclock-controller.service", &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_EQ(out, "") << "systemd-analyze verify complained";
  for (const char* must : {"Type=notify", "StateDirectory=migclock-controller", "PrivateDevices=yes",
                           "DevicePolicy=closed", "NoNewPrivileges=yes", "ProtectSystem=strict", "DynamicUser=yes",
                           "LoadCredential=tls.crt:", "LoadCredential=tls.key:"})
    EXPECT_NE(text.find(must), std::string::npos) << must;
  // The dynamic user cannot read a root-only key: the unit must not point
  // the controller at it directly, nor tell anyone to act as a fixed user.
  auto exec = text.find("\nExecStart=");
  ASSERT_NE(exec, std::string::npos);
  EXPECT_EQ(text.substr(exec, text.find('\n', exec + 1) - exec).find("--tls-key"), std::string::npos);
  EXPECT_EQ(text.find("sudo -u"), std::string::npos);
}

// What LoadCredential= sets up: $CREDENTIALS_DIRECTORY with tls.crt and
// tls.key, no TLS flags. The real binary must serve TLS from them.
TEST(SystemdUnit, ControllerTakesTlsFromTheCredentialsDirectory) {
  std::string dir = migclock::testing::make_temp_dir("migclock-cred");
  std::string creds = dir + "/creds";
  int st = 0;
  run("mkdir -p " + creds + " && cp " + dev_certs().cert + " " + creds + "/tls.crt && cp " + dev_certs().key + " " +
          creds + "/tls.key && chmod 0400 " + creds + "/tls.key",
      &st);
  ASSERT_EQ(st, 0);
  setenv("CREDENTIALS_DIRECTORY", creds.c_str(), 1);
  Child child({MIGCLOCK_CONTROLLER_BIN, "--listen", "127.0.0.1:0", "--data-dir", dir + "/data", "--log-level", "warn"});
  unsetenv("CREDENTIALS_DIRECTORY");
  auto port = child.wait_port();
  ASSERT_NE(port, 0) << "controller did not start from the credentials";
  migclock::net::Client c(migclock::net::ClientOptions("https://127.0.0.1:" + std::to_string(port), dev_certs().ca, ""));
  auto r = c.get("/healthz");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 200u);
  child.kill_and_wait(SIGTERM);
  run("rm -rf " + dir, &st);
}

TEST(SystemdUnit, TheCheckCatchesABrokenUnit) {
  int st = 0;
  if (system("command -v systemd-analyze >/dev/null") != 0) GTEST_SKIP() << "missing systemd-analyze";
  UnitRoot r;
  std::string text = unit_text();
  auto pos = text.find("Type=notify");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, 11, "Type=bogus");
  auto out = r.verify(text, "broken.service", &st);
  EXPECT_NE(out.find("Failed to parse service type"), std::string::npos) << out;
}

}  // namespace
