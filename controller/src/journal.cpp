#include "migclock/controller/journal.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "migclock/controller/metrics.hpp"

namespace migclock::controller {

Journal::Journal(Store& store, Metrics* metrics) : store_(store), metrics_(metrics) {
  thread_ = std::thread([this] { run(); });
}

Journal::~Journal() { stop(); }

Journal::Seq Journal::append(std::vector<Record> records) {
  if (records.empty()) return appended_.load(std::memory_order_acquire);
  store_.stage(records);
  Seq seq;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    seq = appended_.load() + 1;
    queue_.emplace_back(seq, std::move(records));
    appended_.store(seq, std::memory_order_release);
    wake = writer_idle_;
  }
  // Callers hold the core's lock: wake the writer only if it sleeps (while
  // it commits it finds the queue on its own), and outside our mutex.
  if (wake) cv_.notify_one();
  return seq;
}

Status Journal::status_for(Seq seq) const {
  Seq failed = first_failed_.load();
  if (failed != 0 && seq >= failed) return failure_;
  if (seq > committed_.load() && stopped_) return make_error(errc::unavailable, "journal stopped");
  if (seq <= max_conflicted_.load()) {
    auto it = conflicts_.find(seq);
    if (it != conflicts_.end()) return it->second;
  }
  return {};
}

void Journal::when_committed(Seq seq, Done done) {
  // Fast path for reads with nothing in flight (every GET, usually): no
  // lock. committed_ first: run() publishes a failure before the commit
  // count that includes it, so a count we saw comes with its failure.
  Seq committed = committed_.load(std::memory_order_acquire);
  Seq failed = first_failed_.load(std::memory_order_acquire);
  if (seq <= committed && (failed == 0 || seq < failed) && seq > max_conflicted_.load(std::memory_order_acquire))
    return done(Status{});
  std::unique_lock<std::mutex> lock(mutex_);
  if (seq <= committed_.load() || stopped_) {
    Status st = status_for(seq);
    lock.unlock();
    return done(st);
  }
  waiting_.emplace(seq, std::move(done));
}

void Journal::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::multimap<Seq, Done> left;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    left.swap(waiting_);
  }
  for (auto& [seq, done] : left) done(make_error(errc::unavailable, "journal stopped"));
}

bool Journal::healthy() const { return first_failed_.load() == 0; }

void Journal::run() {
  // A failing disk fails every commit: say so, but at most every 10 s.
  std::chrono::steady_clock::time_point last_logged{};
  uint64_t unlogged_failures = 0;
  for (;;) {
    std::deque<std::pair<Seq, std::vector<Record>>> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      writer_idle_ = true;
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      writer_idle_ = false;
      if (queue_.empty() && stopping_) return;
      // Whole changes, as many as the store takes in one commit (≥ 1).
      const std::size_t cap = store_.max_batch_records();
      std::size_t n = 0;
      while (!queue_.empty() && (batch.empty() || n + queue_.front().second.size() <= cap)) {
        n += queue_.front().second.size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<Record> all;
    for (auto& [seq, records] : batch)
      for (auto& r : records) all.push_back(std::move(r));
    auto t0 = std::chrono::steady_clock::now();
    Status st = store_.commit(all);
    auto dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (metrics_) metrics_->observe_commit(dt, all.size(), batch.size());
    std::vector<std::pair<Seq, Error>> conflicted;
    std::vector<Record> lost;  // the records of the changes in `conflicted`
    if (!st.ok() && st.error().code == make_error_code(errc::conflict)) {
      // Another controller won a key of this batch: retry its changes one by
      // one, so only those that lost fail (with the conflict), not the rest.
      std::size_t i = 0;
      for (auto& [seq, records] : batch) {
        Status one = batch.size() == 1 ? st : Status{};
        if (batch.size() > 1) {
          std::vector<Record> mine(all.begin() + static_cast<std::ptrdiff_t>(i),
                                   all.begin() + static_cast<std::ptrdiff_t>(i + records.size()));
          one = store_.commit(mine);
        }
        i += records.size();
        if (!one.ok() && one.error().code != make_error_code(errc::conflict) &&
            one.error().code != make_error_code(errc::unavailable)) {
          st = one;  // a real failure: sticky, as below
          break;
        }
        if (!one.ok()) {
          conflicted.emplace_back(seq, one.error());
          lost.insert(lost.end(), all.begin() + static_cast<std::ptrdiff_t>(i - records.size()),
                      all.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
      if (st.ok() || st.error().code == make_error_code(errc::conflict)) {
        st = Status{};
        spdlog::info("journal: {} change(s) lost a race with another controller: {}", conflicted.size(),
                     conflicted.empty() ? std::string("-") : conflicted.front().second.message());
      }
    } else if (!st.ok() && (st.error().code == make_error_code(errc::unavailable) ||
                            st.error().code == make_error_code(errc::too_large))) {
      // A shared store out of reach (every etcd endpoint), or a change too
      // big for one of its transactions: these changes fail (503) and the
      // store re-reads their keys into the cache; later ones may succeed.
      // Disk errors (io_error) stay sticky.
      for (auto& [seq, records] : batch) conflicted.emplace_back(seq, st.error());
      lost = all;
      spdlog::warn("journal: {} change(s) not committed: {}", batch.size(), st.error().message());
      st = Status{};
    }
    if (metrics_ && !st.ok()) metrics_->count_commit_failure();
    if (!st.ok()) {
      ++unlogged_failures;
      const auto now = std::chrono::steady_clock::now();
      if (last_logged == std::chrono::steady_clock::time_point{} || now - last_logged >= std::chrono::seconds(10)) {
        spdlog::error("journal: commit of {} record(s) failed ({} failed commit(s) since the last report): {}; "
                      "their requests get 503 and so will later reads until a restart",
                      all.size(), unlogged_failures, st.error().message());
        last_logged = now;
        unlogged_failures = 0;
      }
    }
    // Before anyone is answered (a retry must run on the store's state).
    if (!lost.empty()) store_.abandoned(lost);
    std::vector<std::pair<Status, Done>> ready;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [seq, e] : conflicted) {
        conflicts_[seq] = e;
        max_conflicted_.store(seq, std::memory_order_release);
      }
      while (conflicts_.size() > 4096) conflicts_.erase(conflicts_.begin());
      if (!st.ok() && first_failed_.load() == 0) {
        failure_ = st.error();  // before first_failed_: the fast path reads it lock-free
        first_failed_.store(batch.front().first, std::memory_order_release);
      }
      committed_.store(batch.back().first, std::memory_order_release);
      auto end = waiting_.upper_bound(batch.back().first);
      for (auto it = waiting_.begin(); it != end; ++it) ready.emplace_back(status_for(it->first), std::move(it->second));
      waiting_.erase(waiting_.begin(), end);
    }
    for (auto& [status, done] : ready) done(status);
  }
}

}  // namespace migclock::controller
