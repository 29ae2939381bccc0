#include "migclock/controller/etcd_leader.hpp"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include "gateway.hpp"

namespace migclock::controller {

using etcd::b64;
using etcd::num;

namespace {

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

EtcdLeader::EtcdLeader(EtcdStore& store, std::string name, int64_t ttl_s)
    : store_(store), name_(std::move(name)), ttl_s_(std::max<int64_t>(2, ttl_s)) {}

EtcdLeader::~EtcdLeader() { stop(); }

void EtcdLeader::start() { thread_ = std::thread([this] { run(); }); }

void EtcdLeader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  holding_ = false;
  if (lease_ != 0) {
    (void)store_.call("/v3/lease/revoke", "{\"ID\":\"" + std::to_string(lease_) + "\"}");
    lease_ = 0;
  }
}

bool EtcdLeader::is_leader() const {
  return holding_.load() && steady_ns() - renewed_ns_.load() < ttl_s_ * 1'000'000'000 / 2;
}

bool EtcdLeader::step() {
  if (lease_ == 0) {
    auto r = store_.call("/v3/lease/grant", "{\"TTL\":\"" + std::to_string(ttl_s_) + "\"}");
    if (!r) return false;
    rapidjson::Document d;
    d.Parse(r->c_str());
    lease_ = num(d, "ID");
    if (lease_ == 0) return false;
    renewed_ns_ = steady_ns();
  } else {
    auto r = store_.call("/v3/lease/keepalive", "{\"ID\":\"" + std::to_string(lease_) + "\"}");
    if (!r) return false;
    rapidjson::Document d;
    d.Parse(r->c_str());
    const auto& result = d.IsObject() && d.HasMember("result") ? d["result"] : d;
    if (num(result, "TTL") <= 0) {  // expired: we were away too long
      if (holding_.exchange(false)) spdlog::warn("etcd leader: lease expired; no longer sweeping phase timeouts");
      lease_ = 0;
      return false;
    }
    renewed_ns_ = steady_ns();
  }
  // Take the key if nobody holds it; else see whether we do.
  const std::string k = b64(key());
  const std::string body = "{\"compare\":[{\"key\":\"" + k + "\",\"target\":\"CREATE\",\"result\":\"EQUAL\","
                           "\"create_revision\":\"0\"}],\"success\":[{\"request_put\":{\"key\":\"" + k +
                           "\",\"value\":\"" + b64(name_) + "\",\"lease\":\"" + std::to_string(lease_) +
                           "\"}}],\"failure\":[{\"request_range\":{\"key\":\"" + k + "\"}}]}";
  auto r = store_.call("/v3/kv/txn", body);
  if (!r) return false;
  rapidjson::Document d;
  d.Parse(r->c_str());
  bool mine = d.IsObject() && d.HasMember("succeeded") && d["succeeded"].IsBool() && d["succeeded"].GetBool();
  if (!mine && d.IsObject() && d.HasMember("responses") && d["responses"].IsArray() && !d["responses"].Empty()) {
    const auto& rr = d["responses"][0];
    if (rr.HasMember("response_range") && rr["response_range"].HasMember("kvs")) {
      const auto& kvs = rr["response_range"]["kvs"];
      if (kvs.IsArray() && !kvs.Empty()) mine = num(kvs[0], "lease") == lease_;
    }
  }
  if (mine != holding_.exchange(mine))
    spdlog::info("etcd leader: {} {} phase timeouts", name_, mine ? "now sweeps" : "no longer sweeps");
  return true;
}

void EtcdLeader::run() {
  const auto period = std::chrono::milliseconds(ttl_s_ * 1000 / 3);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    if (!step()) holding_ = holding_.load() && is_leader();
    lock.lock();
    cv_.wait_for(lock, holding_ ? period : std::min(period, std::chrono::milliseconds(500)), [&] { return stopping_; });
  }
}

}  // namespace migclock::controller
