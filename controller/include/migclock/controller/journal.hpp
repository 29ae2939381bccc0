// Group commit in front of a Store, with sequence numbers.
//
// Writers append() their records while still holding the lock under which
// they changed the in-memory state, so the journal's order is the order of
// the changes, and get a sequence number. One writer thread commits
// everything appended so far in a single transaction; when_committed(seq)
// then runs once everything up to seq is durable. Concurrent writers share
// one fsync, and no answer that depends on a change goes out before the
// change is on disk — including answers that only read it (an idempotent
// retry, a GET): they wait for the last sequence number that existed when
// they read the state.
//
// A commit refused with errc::conflict (a store shared by several
// controllers: another one changed a key first) fails only the changes it
// held — a batch is then retried one change at a time — and the journal
// stays healthy; so does errc::unavailable (the shared store out of reach:
// it re-reads those keys). Any other failure (a disk) is sticky, as above.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "migclock/controller/store.hpp"

namespace migclock::controller {

class Metrics;

class Journal {
 public:
  using Seq = uint64_t;
  using Done = std::function<void(const Status&)>;
  Journal(Store& store, Metrics* metrics);
  ~Journal();

  // Queues records for the next commit; returns their sequence number.
  // Empty `records` queue nothing and return the last sequence number.
  Seq append(std::vector<Record> records);
  Seq last_appended() const { return appended_.load(std::memory_order_acquire); }
  // done(ok) once everything up to `seq` is committed — at once, on this
  // thread, if it already is, else on the journal thread. done(error) if a
  // commit at or before `seq` failed (the journal stays failed: nothing
  // after a lost change can be acknowledged) or the journal has stopped.
  void when_committed(Seq seq, Done done);

  void stop();  // commits what is queued, then joins; later waits fail
  bool healthy() const;

 private:
  void run();
  Status status_for(Seq seq) const;  // mutex_ held

  Store& store_;
  Metrics* metrics_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::pair<Seq, std::vector<Record>>> queue_;
  std::multimap<Seq, Done> waiting_;
  std::atomic<Seq> appended_{0};
  std::atomic<Seq> committed_{0};
  std::atomic<Seq> first_failed_{0};  // 0: no commit failed
  Error failure_;                     // set (under mutex_) before first_failed_
  std::map<Seq, Error> conflicts_;    // recent changes that failed alone (conflict, unavailable; bounded)
  std::atomic<Seq> max_conflicted_{0};
  bool stopping_ = false;
  bool stopped_ = false;
  bool writer_idle_ = false;  // run() waits on cv_
  std::thread thread_;
};

}  // namespace migclock::controller
