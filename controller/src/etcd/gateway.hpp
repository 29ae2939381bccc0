// Helpers for etcd's JSON gateway: keys and values are base64, int64
// fields are strings ("revision":"12"), zeros are left out.
#pragma once

#include <openssl/evp.h>
#include <rapidjson/document.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "migclock/common/result.hpp"

namespace migclock::controller::etcd {

inline std::string b64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

inline bool unb64(const std::string& in, std::string& out) {
  if (in.size() % 4 != 0) return false;
  out.assign(3 * in.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return false;
  std::size_t pad = 0;
  if (!in.empty() && in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return true;
}

inline int64_t num(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return 0;
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return 0;
  if (it->value.IsString()) return std::strtoll(it->value.GetString(), nullptr, 10);
  if (it->value.IsInt64()) return it->value.GetInt64();
  return 0;
}

inline std::string str(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return {};
  auto it = obj.FindMember(name);
  return it != obj.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                                       : std::string();
}

// The key after the last one with `prefix` (etcd's range_end for a prefix).
inline std::string prefix_end(std::string p) {
  while (!p.empty()) {
    if (static_cast<unsigned char>(p.back()) < 0xff) {
      p.back() = static_cast<char>(static_cast<unsigned char>(p.back()) + 1);
      return p;
    }
    p.pop_back();
  }
  return std::string(1, '\0');
}

inline Result<rapidjson::Document> parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str(), body.size());
  if (d.HasParseError() || !d.IsObject())
    return make_error(errc::malformed_input, "etcd answered something not a JSON object: " + body.substr(0, 200));
  return d;
}

struct KeyValue {
  std::string key, value;
  int64_t mod = 0;
};

// The "kvs" of a range response, decoded.
inline std::vector<KeyValue> kvs_of(const rapidjson::Value& range_response) {
  std::vector<KeyValue> out;
  if (!range_response.IsObject()) return out;
  auto it = range_response.FindMember("kvs");
  if (it == range_response.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& kv : it->value.GetArray()) {
    KeyValue x;
    if (!unb64(str(kv, "key"), x.key) || !unb64(str(kv, "value"), x.value)) continue;
    x.mod = num(kv, "mod_revision");
    out.push_back(std::move(x));
  }
  return out;
}

}  // namespace migclock::controller::etcd
