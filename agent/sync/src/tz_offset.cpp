#include "migclock/agent_sync/tz_offset.hpp"

#include <cctype>
#include <ctime>
#include <fstream>
#include <sstream>

namespace migclock::agent_sync {

namespace {

Error malformed(const std::string& what) { return make_error(errc::malformed_input, "TZif: " + what); }

int64_t be(const std::string& b, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  // Sign-extend 32-bit fields (transition times and UT offsets are signed).
  if (n == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

struct Header {
  int64_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
  size_t data_size(size_t time_size) const {
    return static_cast<size_t>(timecnt * static_cast<int64_t>(time_size) + timecnt + typecnt * 6 + charcnt +
                               leapcnt * static_cast<int64_t>(time_size + 4) + isstdcnt + isutcnt);
  }
};

Result<Header> header_at(const std::string& b, size_t at) {
  if (b.size() < at + 44 || b.compare(at, 4, "TZif") != 0) return malformed("no TZif header");
  Header h{be(b, at + 20, 4), be(b, at + 24, 4), be(b, at + 28, 4), be(b, at + 32, 4), be(b, at + 36, 4), be(b, at + 40, 4)};
  for (int64_t c : {h.isutcnt, h.isstdcnt, h.leapcnt, h.timecnt, h.typecnt, h.charcnt})
    if (c < 0 || c > 100000) return malformed("implausible count");
  if (h.typecnt == 0) return malformed("no local time types");
  return h;
}

// "[+-]hh[:mm[:ss]]" of a POSIX TZ string, in seconds (POSIX sign: west positive).
bool posix_offset(const std::string& s, size_t& i, int64_t& out) {
  int sign = 1;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) sign = s[i++] == '-' ? -1 : 1;
  int64_t parts[3] = {0, 0, 0};
  for (int p = 0; p < 3; ++p) {
    if (p > 0) {
      if (i >= s.size() || s[i] != ':') break;
      ++i;
    }
    size_t digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && digits < 3) {
      parts[p] = parts[p] * 10 + (s[i++] - '0');
      ++digits;
    }
    if (digits == 0) return false;
  }
  out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
  return true;
}

// The standard-time offset (east positive) of a footer without DST rules.
Result<int64_t> footer_fixed_offset(const std::string& tz) {
  size_t i = 0;
  if (i < tz.size() && tz[i] == '<') {
    i = tz.find('>');
    if (i == std::string::npos) return malformed("footer: unterminated <name>");
    ++i;
  } else {
    while (i < tz.size() && std::isalpha(static_cast<unsigned char>(tz[i]))) ++i;
  }
  int64_t west = 0;
  if (i == 0 || !posix_offset(tz, i, west)) return malformed("footer \"" + tz + "\": no offset");
  if (i != tz.size())
    return make_error(errc::not_supported, "TZif footer \"" + tz + "\" has DST rules past the transition table");
  return -west;
}

}  // namespace

Result<int64_t> tzif_utc_offset(const std::string& b, int64_t unix_s) {
  auto h1 = header_at(b, 0);
  if (!h1) return h1.error();
  const char version = b[4];
  Header h = *h1;
  size_t at = 44, tsize = 4;
  if (version >= '2') {
    // Skip the 32-bit block; the 64-bit one after it is authoritative.
    const size_t v2 = 44 + h1->data_size(4);
    auto h2 = header_at(b, v2);
    if (!h2) return h2.error();
    h = *h2;
    at = v2 + 44;
    tsize = 8;
  }
  const size_t types_at = at + static_cast<size_t>(h.timecnt) * tsize;
  const size_t info_at = types_at + static_cast<size_t>(h.timecnt);
  const size_t end = at + h.data_size(tsize);
  if (b.size() < end) return malformed("truncated");
  auto utoff_of_type = [&](int64_t type) -> Result<int64_t> {
    if (type < 0 || type >= h.typecnt) return malformed("transition to an unknown type");
    return be(b, info_at + static_cast<size_t>(type) * 6, 4);
  };
  // Last transition at or before unix_s.
  int64_t idx = -1;
  for (int64_t i = 0; i < h.timecnt; ++i) {
    if (be(b, at + static_cast<size_t>(i) * tsize, tsize) <= unix_s) idx = i;
    else break;
  }
  const bool past_table = h.timecnt == 0 || idx == h.timecnt - 1;
  if (past_table && version >= '2' && b.size() > end + 1 && b[end] == '\n') {
    const size_t nl = b.find('\n', end + 1);
    const std::string footer = b.substr(end + 1, nl == std::string::npos ? std::string::npos : nl - end - 1);
    if (!footer.empty()) return footer_fixed_offset(footer);
  }
  if (idx < 0) return utoff_of_type(0);  // before the first transition: type 0 (RFC 8536 §3.2)
  return utoff_of_type(static_cast<unsigned char>(b[types_at + static_cast<size_t>(idx)]));
}

Result<int64_t> zone_utc_offset(const std::string& zone, int64_t unix_s, const std::string& zoneinfo_dir) {
  bool ok = !zone.empty() && zone.size() < 256 && zone.front() != '/' && zone.find("..") == std::string::npos;
  for (char c : zone) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+');
  if (!ok) return make_error(errc::invalid_argument, "timezone \"" + zone + "\": not a tz database name");
  const std::string path = zoneinfo_dir + "/" + zone;
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(errc::not_found, "timezone \"" + zone + "\": no " + path);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  auto off = tzif_utc_offset(bytes.str(), unix_s);
  if (!off) return Error{off.error().code, path + ": " + off.error().context};
  return off;
}

Result<int64_t> host_utc_offset(int64_t unix_s) {
  const time_t t = static_cast<time_t>(unix_s);
  struct tm tm {};
  if (localtime_r(&t, &tm) == nullptr) return make_error(errc::invalid_argument, "localtime_r failed");
  return static_cast<int64_t>(tm.tm_gmtoff);
}

Result<int64_t> system_utc_offset(const std::string& zone, int64_t unix_s) {
  return zone.empty() ? host_utc_offset(unix_s) : zone_utc_offset(zone, unix_s);
}

}  // namespace migclock::agent_sync
