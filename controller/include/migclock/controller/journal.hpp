// Group commit in front of a Store: callers hand over records with a
// completion; one writer thread commits everything queued so far in a
// single transaction and then completes each caller (in submit order).
// Acknowledgements therefore always follow a durable commit, while
// concurrent writers share one fsync.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "migclock/controller/store.hpp"

namespace migclock::controller {

class Metrics;

class Journal {
 public:
  using Done = std::function<void(const Status&)>;
  Journal(Store& store, Metrics* metrics);
  ~Journal();

  // Empty `records` is a barrier: done() runs after everything before it.
  void submit(std::vector<Record> records, Done done);
  void stop();  // commits what is queued, then joins
  bool healthy() const;

 private:
  void run();
  struct Item {
    std::vector<Record> records;
    Done done;
  };
  Store& store_;
  Metrics* metrics_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  bool healthy_ = true;
  std::thread thread_;
};

}  // namespace migclock::controller
