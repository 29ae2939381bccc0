#include "migclock/controller/journal.hpp"

#include <chrono>

#include "migclock/controller/metrics.hpp"

namespace migclock::controller {

Journal::Journal(Store& store, Metrics* metrics) : store_(store), metrics_(metrics) {
  thread_ = std::thread([this] { run(); });
}

Journal::~Journal() { stop(); }

void Journal::submit(std::vector<Record> records, Done done) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(Item{std::move(records), std::move(done)});
  }
  cv_.notify_one();
}

void Journal::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

bool Journal::healthy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return healthy_;
}

void Journal::run() {
  for (;;) {
    std::deque<Item> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      batch.swap(queue_);
    }
    std::vector<Record> all;
    for (auto& item : batch)
      for (auto& r : item.records) all.push_back(std::move(r));
    Status st;
    if (!all.empty()) {
      auto t0 = std::chrono::steady_clock::now();
      st = store_.commit(all);
      auto dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (metrics_) metrics_->observe_commit(dt, all.size(), batch.size());
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mutex_);
        healthy_ = false;
      }
    }
    for (auto& item : batch)
      if (item.done) item.done(st);
  }
}

}  // namespace migclock::controller
