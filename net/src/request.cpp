#include "migclock/net/request.hpp"

#include <strings.h>

namespace migclock::net {

std::string Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  return {};
}

std::string Request::query_or(const std::string& key, std::string fallback) const {
  auto it = query.find(key);
  return it == query.end() ? fallback : it->second;
}

std::string Request::bearer_token() const {
  std::string h = header("authorization");
  constexpr std::string_view kScheme = "Bearer ";
  if (h.size() <= kScheme.size() || strncasecmp(h.data(), kScheme.data(), kScheme.size()) != 0) return {};
  auto token = h.substr(kScheme.size());
  while (!token.empty() && token.back() == ' ') token.pop_back();
  return token;
}

namespace {
int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string percent_decode(std::string_view in, bool* ok) {
  std::string out;
  out.reserve(in.size());
  bool good = true;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      int hi = i + 1 < in.size() ? hexval(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? hexval(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) { good = false; break; }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (in[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  if (ok) *ok = good;
  return out;
}

std::string percent_encode(std::string_view in) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool split_target(std::string_view target, std::string& path, std::map<std::string, std::string>& query) {
  auto q = target.find('?');
  bool ok = true;
  // '+' is only a space in queries; keep it literal in paths.
  std::string_view raw_path = target.substr(0, q);
  path.clear();
  for (size_t i = 0; i < raw_path.size(); ++i) {
    if (raw_path[i] == '%') {
      int hi = i + 1 < raw_path.size() ? hexval(raw_path[i + 1]) : -1;
      int lo = i + 2 < raw_path.size() ? hexval(raw_path[i + 2]) : -1;
      if (hi < 0 || lo < 0) return false;
      path.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      path.push_back(raw_path[i]);
    }
  }
  query.clear();
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    bool k_ok = true, v_ok = true;
    std::string key = percent_decode(pair.substr(0, eq), &k_ok);
    std::string value = eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1), &v_ok);
    if (!k_ok || !v_ok) ok = false;
    query[std::move(key)] = std::move(value);
  }
  return ok;
}

}  // namespace migclock::net
