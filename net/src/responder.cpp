#include "migclock/net/responder.hpp"

#include <atomic>

namespace migclock::net {

struct Responder::State {
  Sink sink;
  std::atomic<bool> sent{false};
  ~State() {
    // Dropped without an answer: a handler bug; never leave the client hanging.
    if (!sent.exchange(true) && sink) sink(to_response(problem(ApiErrc::internal, "handler produced no response")));
  }
};

Responder::Responder(Sink sink) : state_(std::make_shared<State>()) { state_->sink = std::move(sink); }

void Responder::send(Response r) const {
  if (!state_ || state_->sent.exchange(true)) return;
  state_->sink(std::move(r));
}

bool Responder::sent() const { return state_ && state_->sent.load(); }

}  // namespace migclock::net
