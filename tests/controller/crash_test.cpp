// kill -9 of the real migclock-controller in the middle of a stream of
// migrations: every acknowledged record must be there after a restart on
// the same data dir, and every in-flight migration must resume its
// timeout and end with a reason.
#include <atomic>
#include <map>
#include <mutex>
#include <sys/socket.h>
#include <sys/un.h>

#include <thread>

#include "fixture.hpp"
#include "process.hpp"

namespace migclock::controller::testing {
namespace {

using migclock::testing::dev_certs;

const char* kPhases[] = {"source-captured", "shipped", "resumed", "synced", "verified"};

TEST(CrashTest, KillDashNineMidStreamLosesNoAcknowledgedRecord) {
  std::string dir = migclock::testing::make_temp_dir("migclock-crash");
  // hv-b's agent: the destination it announces and reports for.
  std::string token = create_token(dir, Scope::agent, "crash", "hv-b").value();
  // A long timeout while streaming; the restart uses 3 s, so in-flight
  // migrations (last change before the kill) must end soon after it.
  auto child = std::make_unique<Child>(controller_argv(dir, "600"));
  unsigned short port = child->wait_port();
  ASSERT_NE(port, 0) << "controller did not start";
  std::string url = "https://127.0.0.1:" + std::to_string(port);
  {
    // An event's host must be registered.
    net::Client c(net::ClientOptions(url, dev_certs().ca, token));
    auto reg = c.put("/api/v1/hosts/hv-b", R"({"hostname":"hv-b","tsc_khz":1,"scaling_supported":false,)"
                                           R"("offset_honoured":"yes","masterclock_possible":true})");
    ASSERT_TRUE(reg.ok() && reg->status == 200u) << (reg.ok() ? reg->body : reg.error().message());
  }

  // What the controller acknowledged: migration id → highest phase index
  // acked (-1 = announced only).
  std::mutex mu;
  std::map<std::string, int> acked;
  std::atomic<int> acks{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> streams;
  for (int t = 0; t < 4; ++t) {
    streams.emplace_back([&, t] {
      net::ClientOptions o(url, dev_certs().ca, token);
      o.timeout = std::chrono::seconds(2);
      net::Client c(o);
      for (int i = 0; !stop; ++i) {
        std::string vm = "vm-" + std::to_string(t) + "-" + std::to_string(i);
        auto r = c.post("/api/v1/migrations", R"({"vm_uuid":")" + vm + R"(","source":"hv-a","destination":"hv-b"})");
        if (!r || r->status != 201) return;  // the controller is gone
        auto doc = net::parse_object(r->body);
        if (!doc || !(*doc)["id"].IsString()) return;
        std::string mid = (*doc)["id"].GetString();
        {
          std::lock_guard<std::mutex> l(mu);
          acked[mid] = -1;
        }
        ++acks;
        // Stop part-way for some, so in-flight migrations exist at the kill.
        int upto = i % 3 == 0 ? 2 : 5;
        for (int p = 0; p < upto; ++p) {
          auto e = c.post("/api/v1/migrations/" + mid + "/events",
                          std::string(R"({"phase":")") + kPhases[p] + R"(","host":"hv-b","at_ns":1})");
          if (!e || e->status != 200) return;
          std::lock_guard<std::mutex> l(mu);
          acked[mid] = p;
          ++acks;
        }
      }
    });
  }
  // Let a few hundred acknowledgements through, then kill -9 mid-stream.
  auto t0 = std::chrono::steady_clock::now();
  while (acks < 2000 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  int st = child->kill_and_wait(SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  stop = true;
  for (auto& s : streams) s.join();
  ASSERT_GE(acks.load(), 2000) << "stream too slow to test anything";

  auto restarted = std::make_unique<Child>(controller_argv(dir));
  port = restarted->wait_port();
  ASSERT_NE(port, 0) << "controller did not restart on the same data dir";
  url = "https://127.0.0.1:" + std::to_string(port);
  net::Client c(net::ClientOptions(url, dev_certs().ca, token));
  size_t in_flight = 0;
  for (const auto& [id, phase] : acked) {
    auto r = c.get("/api/v1/migrations/" + id);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200u) << "acknowledged migration " << id << " lost";
    auto m = net::parse_object(r->body).value();
    ASSERT_TRUE(m["phase"].IsString() && m["history"].IsArray()) << r->body;
    std::string now = m["phase"].GetString();
    // The acknowledged phase is in the history (later changes, such as a
    // timeout to degraded after the restart, may follow it).
    std::string want = phase < 0 ? "announced" : kPhases[phase];
    bool found = false;
    for (const auto& e : m["history"].GetArray()) found = found || want == e["phase"].GetString();
    EXPECT_TRUE(found) << id << " acknowledged " << want << " but its history lacks it: " << r->body;
    if (now != "verified") ++in_flight;
  }
  EXPECT_GT(in_flight, 0u) << "no in-flight migration at the kill: the test proves less than it should";
  // In-flight ones resume their timeouts (3 s from their last change) and
  // end degraded with a reason.
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  auto list = c.get("/api/v1/migrations?active=true&limit=500");
  ASSERT_TRUE(list.ok()) << list.error().message();
  EXPECT_EQ(net::parse_object(list->body).value()["total"].GetInt(), 0) << list->body.substr(0, 300);
  auto degraded = c.get("/api/v1/migrations?phase=degraded&limit=1");
  auto dd = net::parse_object(degraded->body).value();
  EXPECT_GE(dd["total"].GetInt(), static_cast<int>(in_flight) - 0);
  ASSERT_TRUE(dd["items"].IsArray() && dd["items"].Size() >= 1u) << degraded->body;
  ASSERT_TRUE(dd["items"][0]["reason"].IsString());
  EXPECT_NE(std::string(dd["items"][0]["reason"].GetString()).find("timed out in phase"), std::string::npos);
  int end = restarted->kill_and_wait(SIGTERM);
  EXPECT_TRUE(WIFEXITED(end) && WEXITSTATUS(end) == 0) << "restarted controller died: status " << end;
  std::string rm = "rm -rf " + dir;
  (void)std::system(rm.c_str());
}

TEST(CrashTest, SigtermStopsCleanlyAndHelpAndBadFlagsBehave) {
  std::string help = std::string(MIGCLOCK_CONTROLLER_BIN) + " --help >/dev/null";
  EXPECT_EQ(std::system(help.c_str()), 0);
  std::string bad = std::string(MIGCLOCK_CONTROLLER_BIN) + " --bogus 2>/dev/null";
  EXPECT_EQ(WEXITSTATUS(std::system(bad.c_str())), 2);
  std::string dir = migclock::testing::make_temp_dir("migclock-term");
  std::string plain_public = std::string(MIGCLOCK_CONTROLLER_BIN) + " --plain-http --listen 0.0.0.0:0 --data-dir " + dir + " 2>/dev/null";
  EXPECT_EQ(WEXITSTATUS(std::system(plain_public.c_str())), 1);
  std::string bad_scope = std::string(MIGCLOCK_CONTROLLER_BIN) + " token create --data-dir " + dir + " --scope root 2>/dev/null";
  EXPECT_EQ(WEXITSTATUS(std::system(bad_scope.c_str())), 2);
  Child child(controller_argv(dir));
  ASSERT_NE(child.wait_port(), 0);
  int st = child.kill_and_wait(SIGTERM);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  std::string rm = "rm -rf " + dir;
  (void)std::system(rm.c_str());
}

}  // namespace
}  // namespace migclock::controller::testing

namespace migclock::controller::testing {
namespace {

// Type=notify: the real binary sends READY=1 on $NOTIFY_SOCKET once it
// listens, and STOPPING=1 on SIGTERM (sd_notify from libsystemd).
TEST(CrashTest, NotifiesSystemdReadyAndStopping) {
  std::string dir = migclock::testing::make_temp_dir("migclock-notify");
  std::string sock = dir + "/notify.sock";
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", sock.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setenv("NOTIFY_SOCKET", sock.c_str(), 1);
  Child child(controller_argv(dir));
  unsetenv("NOTIFY_SOCKET");
  ASSERT_NE(child.wait_port(), 0);
  char buf[512] = {};
  ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
  ASSERT_GT(n, 0) << "no sd_notify message";
  EXPECT_NE(std::string(buf, static_cast<size_t>(n)).find("READY=1"), std::string::npos) << buf;
  child.kill_and_wait(SIGTERM);
  n = ::recv(fd, buf, sizeof buf - 1, 0);
  ASSERT_GT(n, 0);
  EXPECT_NE(std::string(buf, static_cast<size_t>(n)).find("STOPPING=1"), std::string::npos);
  ::close(fd);
  std::string rm = "rm -rf " + dir;
  (void)std::system(rm.c_str());
}

}  // namespace
}  // namespace migclock::controller::testing
