#include "migclock/controller/waiters.hpp"

namespace migclock::controller {

Waiters::Waiters() { thread_ = std::thread([this] { run(); }); }
Waiters::~Waiters() { stop(); }

void Waiters::wait(const std::string& key, Clock::time_point deadline, Callback fn, std::function<bool()> ready) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      bool fire = ready && ready();
      entries_[next_++] = Entry{key, deadline, std::move(fn), fire};
      cv_.notify_one();
      return;
    }
  }
  fn(true);
}

void Waiters::notify(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  bool any = false;
  for (auto& [id, e] : entries_)
    if (e.key == key) e.fire = any = true;
  if (any) cv_.notify_one();
}

std::size_t Waiters::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

void Waiters::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Waiters::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    auto now = Clock::now();
    std::vector<std::pair<bool, Callback>> ready;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (stopping_ || it->second.fire || it->second.deadline <= now) {
        ready.emplace_back(!it->second.fire, std::move(it->second.fn));
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    if (!ready.empty()) {
      lock.unlock();
      for (auto& [timed_out, fn] : ready) fn(timed_out);
      lock.lock();
      continue;
    }
    if (stopping_) return;
    auto next = Clock::time_point::max();
    for (const auto& [id, e] : entries_) next = std::min(next, e.deadline);
    if (next == Clock::time_point::max()) cv_.wait(lock);
    else cv_.wait_until(lock, next);
  }
}

}  // namespace migclock::controller
