// EtcdStore's watch (etcd_store.hpp): start_watch() and stop_watch(), the
// thread that follows the prefix on /v3/watch (watch_loop(), moving to the
// next endpoint when a stream breaks; reload() when etcd compacted the
// revision it needed) and on_watch_message(), which hands each revision's
// changes to the remote sink through apply_fresh(). The
// stream itself (HTTP, TLS) is in stream.cpp.
#include "migclock/controller/etcd_store.hpp"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <map>

#include "etcd_store_internal.hpp"
#include "gateway.hpp"
#include "migclock/net/json.hpp"
#include "stream.hpp"

namespace migclock::controller {

using namespace etcd;  // gateway.hpp: the JSON gateway's helpers

void EtcdStore::set_remote_sink(RemoteSink sink) {
  std::lock_guard<std::mutex> lock(commit_mutex_);
  sink_ = std::move(sink);
}

Status EtcdStore::start_watch(RemoteSink sink) {
  set_remote_sink(std::move(sink));
  if (applied_.load() == 0) {
    auto answer = call("/v3/kv/range", "{\"key\":\"" + b64(options_.prefix + "/") + "\",\"count_only\":true}");
    if (!answer) return answer.error();
    auto doc = parse(*answer);
    if (!doc) return doc.error();
    applied_.store(num((*doc)["header"], "revision"));
  }
  watch_thread_ = std::thread([this] { watch_loop(); });
  return {};
}

void EtcdStore::stop_watch() {
  if (!watch_thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(watch_mutex_);
    watch_stopping_ = true;
  }
  watch_cv_.notify_all();
  stream_->post.cancel();
  if (watch_thread_.joinable()) watch_thread_.join();
}

void EtcdStore::watch_loop() {
  const std::size_t n = options_.endpoints.size();
  std::size_t ep = current_.load();
  auto last_warned = std::chrono::steady_clock::time_point{};
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(watch_mutex_);
      if (watch_stopping_) return;
    }
    if (reload_pending_) {
      auto st = reload();
      if (st.ok()) {
        reload_pending_ = false;
        spdlog::info("etcd watch: state reloaded at revision {}; following on from there", applied_.load());
      } else {
        spdlog::warn("etcd watch: reload after a compaction: {}; trying again", st.error().message());
        std::unique_lock<std::mutex> lock(watch_mutex_);
        watch_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return watch_stopping_; });
        continue;
      }
    }
    const std::string p = options_.prefix + "/";
    net::JsonWriter w;
    w.begin_object().key("create_request").begin_object().key("key").value(b64(p)).key("range_end")
        .value(b64(prefix_end(p))).key("start_revision").value(std::to_string(applied_.load() + 1)).end_object()
        .end_object();
    std::string authorization;
    if (!options_.user.empty()) {
      auto t = auth_token(last_watch_failed_);
      if (t) authorization = *t;
    }
    auto st = stream_->post.run(options_.endpoints[ep % n], "/v3/watch", w.str(),
                                [this](const std::string& m) { return on_watch_message(m); },
                                {options_.ca_file, options_.cert_file, options_.key_file}, authorization);
    last_watch_failed_ = !st.ok();
    std::unique_lock<std::mutex> lock(watch_mutex_);
    if (watch_stopping_) return;
    auto now = std::chrono::steady_clock::now();
    if (!st.ok() && now - last_warned > std::chrono::seconds(10)) {
      spdlog::warn("etcd watch: {}; trying the next endpoint (this controller's cache lags until it is back)",
                   st.error().message());
      last_warned = now;
    }
    ep = (ep + 1) % n;
    watch_cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return watch_stopping_; });
  }
}

bool EtcdStore::on_watch_message(const std::string& json) {
  auto doc = parse(json);
  if (!doc) return false;
  auto result = doc->FindMember("result");
  if (result == doc->MemberEnd() || !result->value.IsObject()) {
    spdlog::warn("etcd watch: unexpected message {}", json.substr(0, 200));
    return false;
  }
  const auto& res = result->value;
  if (num(res, "compact_revision") > 0) {
    spdlog::warn("etcd watch: revision {} is compacted (this controller was away too long); reloading the state",
                 applied_.load() + 1);
    reload_pending_ = true;  // watch_loop() reloads before the next stream
    return false;
  }
  auto events = res.FindMember("events");
  if (events == res.MemberEnd() || !events->value.IsArray()) return true;
  // Per revision, as committed: one txn's changes go to the core together.
  std::map<int64_t, std::vector<Fresh>> by_revision;
  const std::string p = options_.prefix + "/";
  for (const auto& ev : events->value.GetArray()) {
    auto kv = ev.FindMember("kv");
    if (kv == ev.MemberEnd()) continue;
    Fresh f;
    if (!unb64(str(kv->value, "key"), f.key)) continue;
    f.present = str(ev, "type") != "DELETE";
    if (f.present && !unb64(str(kv->value, "value"), f.value)) continue;
    const int64_t rev = num(kv->value, "mod_revision");
    f.mod = f.present ? rev : 0;
    by_revision[rev].push_back(std::move(f));
  }
  // Our own commits are known by the time commit_mutex_ is free.
  std::lock_guard<std::mutex> commit_lock(commit_mutex_);
  for (auto& [rev, fresh] : by_revision) {
    apply_fresh(fresh, rev);
    if (rev > applied_.load()) applied_.store(rev);
  }
  return true;
}

}  // namespace migclock::controller
