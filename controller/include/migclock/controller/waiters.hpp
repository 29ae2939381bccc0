// Long-poll parking: a request waits on a key ("migration:<id>",
// "commands:<host>") until notify(key) or its deadline; the callback then
// runs once on the waiter thread, outside any lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace migclock::controller {

class Waiters {
 public:
  using Clock = std::chrono::steady_clock;
  using Callback = std::function<void(bool timed_out)>;
  Waiters();
  ~Waiters();
  // `ready` (optional) is checked under the waiters' lock: if it already
  // holds, fn fires at once. It closes the gap between a handler's "nothing
  // yet" and its registration, since notify() takes the same lock.
  void wait(const std::string& key, Clock::time_point deadline, Callback fn, std::function<bool()> ready = {});
  void notify(const std::string& key);
  void stop();  // fires every waiter as timed out
  std::size_t size() const;

 private:
  struct Entry {
    std::string key;
    Clock::time_point deadline;
    Callback fn;
    bool fire = false;
  };
  void run();
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<uint64_t, Entry> entries_;
  uint64_t next_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace migclock::controller
