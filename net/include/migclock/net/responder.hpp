// Responder: how a handler answers, now or later (long polls), from any
// thread. Copyable; the first send() wins, later ones are ignored. If every
// copy is dropped without a send(), the client gets a 500 rather than a
// connection that hangs.
#pragma once

#include <functional>
#include <memory>

#include "migclock/net/problem.hpp"
#include "migclock/net/request.hpp"

namespace migclock::net {

class Responder {
 public:
  using Sink = std::function<void(Response)>;
  explicit Responder(Sink sink);
  Responder() = default;

  void send(Response r) const;
  void send(const Problem& p) const { send(to_response(p)); }
  bool sent() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace migclock::net
