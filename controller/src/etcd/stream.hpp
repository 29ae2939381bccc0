// A streamed HTTP POST for etcd's /v3/watch: net::Client reads whole
// responses, a watch answers with an endless chunked stream of JSON
// messages, one a line. Plain HTTP (the TLS etcd endpoints are not done).
#pragma once

#include <functional>
#include <mutex>
#include <string>

#include "migclock/common/result.hpp"

namespace migclock::controller::etcd {

class StreamingPost {
 public:
  // POSTs `body` to `endpoint` (http://HOST:PORT) + `target` and hands each
  // message line of the answer to on_message until the stream ends (error
  // unavailable), on_message returns false (ok) or cancel() is called (ok).
  Status run(const std::string& endpoint, const std::string& target, const std::string& body,
             const std::function<bool(const std::string&)>& on_message);
  // From any thread: ends a run() in progress, and every later one.
  void cancel();

 private:
  std::mutex mutex_;
  int fd_ = -1;
  bool cancelled_ = false;
};

// "http://host:port" → host, port; false if not that form.
bool split_http_endpoint(const std::string& endpoint, std::string& host, std::string& port);

}  // namespace migclock::controller::etcd
