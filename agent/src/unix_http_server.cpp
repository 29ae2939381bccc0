#include "migclock/agent/unix_http_server.hpp"

#include <grp.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <spdlog/spdlog.h>
#include <vector>

#include "migclock/net/problem.hpp"
#include "migclock/net/server.hpp"

namespace migclock::agent {

// net::Server answers on its io threads, which must not block; some API
// calls do (a capture talks QMP and the guest agent), so requests are
// handed to a small pool and answered through the Responder.
struct UnixHttpServer::Impl {
  Handler handler;
  Gate gate;
  std::function<void()> on_refused;
  std::unique_ptr<net::Server> server;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<ApiRequest, net::Responder>> queue;
  std::vector<std::thread> workers;
  bool stopping = false;

  void work() {
    while (true) {
      std::pair<ApiRequest, net::Responder> job;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [this] { return stopping || !queue.empty(); });
        if (stopping && queue.empty()) return;
        job = std::move(queue.front());
        queue.pop_front();
      }
      ApiResponse out;
      try {
        out = handler(job.first);
      } catch (const std::exception& e) {
        spdlog::error("local API: {} {}: {}", job.first.method, job.first.target, e.what());
        out = ApiResponse{500, "application/json", R"({"error":"internal","message":"unexpected exception"})"};
      }
      net::Response r = net::Response::text(static_cast<unsigned>(out.status), std::move(out.body), out.content_type);
      job.second.send(std::move(r));
    }
  }

  void on_request(net::Request&& req, net::Responder out) {
    PeerCred peer;
    peer.pid = req.peer.pid.value_or(0);
    peer.uid = req.peer.uid.value_or(static_cast<uint32_t>(-1));
    peer.gid = req.peer.gid.value_or(static_cast<uint32_t>(-1));
    if (!req.peer.uid || !gate(peer)) {
      if (on_refused) on_refused();
      spdlog::warn("local API: refused peer pid={} uid={} gid={} (not root, not in the socket group)", peer.pid,
                   peer.uid, peer.gid);
      out.send(net::problem(net::ApiErrc::forbidden, "peer is not root or in the agent's socket group"));
      return;
    }
    ApiRequest api{req.method, req.target, std::move(req.body), peer};
    {
      std::lock_guard<std::mutex> lock(mu);
      queue.emplace_back(std::move(api), std::move(out));
    }
    cv.notify_one();
  }
};

UnixHttpServer::UnixHttpServer(Handler handler, Gate gate, std::function<void()> on_refused)
    : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->gate = std::move(gate);
  impl_->on_refused = std::move(on_refused);
}

UnixHttpServer::~UnixHttpServer() { stop(); }

Status UnixHttpServer::start(const std::string& path, const std::string& group) {
  namespace fs = std::filesystem;
  std::error_code fec;
  fs::create_directories(fs::path(path).parent_path(), fec);
  if (fec) return errno_error(fec.value(), "create " + fs::path(path).parent_path().string());
  net::ServerOptions opts;
  opts.threads = 1;
  opts.body_limit = 16u << 20;  // VMM snapshots
  opts.server_header = "migclock-agent";
  impl_->server = std::make_unique<net::Server>(opts, [this](net::Request&& r, net::Responder out) {
    impl_->on_request(std::move(r), std::move(out));
  });
  MIGCLOCK_TRY(impl_->server->listen_unix(path, 0660));
  if (!group.empty()) {
    if (struct group* g = ::getgrnam(group.c_str())) {
      if (::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0)
        spdlog::warn("local API: chown {} to group {}: {}", path, group, std::strerror(errno));
    } else {
      spdlog::warn("local API: group '{}' does not exist; only root may connect", group);
    }
  }
  for (int i = 0; i < 2; ++i) impl_->workers.emplace_back([this] { impl_->work(); });
  return impl_->server->start();
}

void UnixHttpServer::stop() {
  if (!impl_) return;
  if (impl_->server) impl_->server->stop();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  for (auto& t : impl_->workers) t.join();
  impl_->workers.clear();
  impl_->server.reset();
}

}  // namespace migclock::agent
