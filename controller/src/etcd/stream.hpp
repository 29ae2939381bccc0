// A streamed HTTP(S) POST for etcd's /v3/watch: net::Client reads whole
// responses, a watch answers with an endless chunked stream of JSON
// messages, one a line.
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
  struct Tls {
    std::string ca_file, cert_file, key_file;  // https:// endpoints
  };
  Status run(const std::string& endpoint, const std::string& target, const std::string& body,
             const std::function<bool(const std::string&)>& on_message, const Tls& tls = {},
             const std::string& authorization = {});
  // From any thread: ends a run() in progress, and every later one.
  void cancel();

 private:
  std::mutex mutex_;
  int fd_ = -1;
  template <class Stream>
  Status exchange(Stream& stream, const std::string& endpoint, const std::string& hostport, const std::string& target,
                  const std::string& body, const std::string& authorization,
                  const std::function<bool(const std::string&)>& on_message);
  bool cancelled_ = false;
};

// "http(s)://host:port" → host, port, tls; false if not that form.
bool split_endpoint(const std::string& endpoint, std::string& host, std::string& port, bool& tls);

}  // namespace migclock::controller::etcd
