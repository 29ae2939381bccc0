#include "agent_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace migclock::hook {

namespace http = boost::beast::http;
using local = boost::asio::local::stream_protocol;

Result<AgentReply> post_to_agent(const std::string& socket, const std::string& target, const std::string& json_body,
                                 int timeout_ms) {
  boost::asio::io_context io;
  local::socket sock(io);
  boost::system::error_code ec;
  sock.connect(local::endpoint(socket), ec);
  if (ec) return make_error(errc::unavailable, "connect " + socket + ": " + ec.message());
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "migclock-agent");
  req.set(http::field::content_type, "application/json");
  req.keep_alive(false);
  req.body() = json_body;
  req.prepare_payload();
  http::write(sock, req, ec);
  if (ec) return make_error(errc::unavailable, "send to " + socket + ": " + ec.message());
  boost::beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res, ec);
  if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again || ec == boost::asio::error::timed_out)
    return make_error(errc::timeout, "no reply from " + socket + " within " + std::to_string(timeout_ms) + " ms");
  if (ec) return make_error(errc::unavailable, "read from " + socket + ": " + ec.message());
  return AgentReply{static_cast<int>(res.result_int()), res.body()};
}

}  // namespace migclock::hook
