#include "migclock/controller/auth.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace migclock::controller {

namespace {
std::string hex(const unsigned char* p, size_t n) {
  static const char* k = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(k[p[i] >> 4]);
    out.push_back(k[p[i] & 15]);
  }
  return out;
}
}  // namespace

Result<std::string> generate_token_secret() {
  unsigned char buf[32];
  if (RAND_bytes(buf, sizeof buf) != 1) return make_error(errc::unavailable, "RAND_bytes failed");
  return "mct_" + hex(buf, sizeof buf);
}

std::string sha256_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return hex(md, len);
}

bool scope_allows(Scope s, unsigned mask) {
  switch (s) {
    case Scope::read: return mask & kRead;
    case Scope::write: return mask & (kRead | kWrite);
    case Scope::agent: return mask & kAgent;
  }
  return false;
}

}  // namespace migclock::controller
