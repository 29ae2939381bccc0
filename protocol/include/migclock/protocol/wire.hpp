// What every message shares: content types, the decode entry points and
// how a decode failure reads on each side. A message type T has
//   void write(net::JsonWriter&, const T&);                      // encoder
//   std::optional<net::Problem> read(const rapidjson::Value&, T&); // decoder
// in its header; encode()/decode() below are the entry points. Decoders
// check the wire schema (types, required fields, sizes, enum names);
// domain rules (valid host names, who may act as whom) stay with the
// receiver.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "migclock/common/result.hpp"
#include "migclock/net/json.hpp"

namespace migclock::protocol {

// A snapshot in the binary envelope (serialization/), as PUT to the
// controller and offered on GET.
inline constexpr const char* kSnapshotContentType = "application/vnd.migclock.snapshot";
inline constexpr const char* kJsonContentType = "application/json";

// Nesting allowed in a message: 32, and 64 for those that carry a snapshot.
inline constexpr std::size_t kMaxDepth = 32;
inline constexpr std::size_t kMaxDepthWithSnapshot = 64;

template <class T>
std::string encode(const T& message) {
  net::JsonWriter w;
  write(w, message);
  return w.str();
}

template <class T>
net::Outcome<T> decode(const rapidjson::Value& v) {
  T out{};
  if (auto p = read(v, out)) return *p;
  return out;
}

// Parses (depth-capped, UTF-8 checked: net::parse_any) and decodes.
template <class T>
net::Outcome<T> decode(std::string_view body, std::size_t max_depth = kMaxDepth) {
  auto d = net::parse_any(body, max_depth);
  if (!d) return d.problem();
  return decode<T>(*d);
}

// The receiving client's view of a bad answer: malformed_input naming
// `what` ("GET /api/v1/…").
Error malformed(const std::string& what, const net::Problem& p);

template <class T>
Result<T> parse(std::string_view body, const std::string& what, std::size_t max_depth = kMaxDepth) {
  auto m = decode<T>(body, max_depth);
  if (!m) return malformed(what, m.problem());
  return std::move(m).value();
}

}  // namespace migclock::protocol
