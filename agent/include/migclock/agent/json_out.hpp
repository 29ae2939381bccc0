// A rapidjson writer with short key/value helpers for the API's bodies.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>

#include "migclock/agent/sync_types.hpp"

namespace migclock::agent {

struct JsonOut {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};

  void kv(const char* k, const std::string& v) { w.Key(k); w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size())); }
  void kv(const char* k, const char* v) { w.Key(k); w.String(v); }
  void kv(const char* k, int64_t v) { w.Key(k); w.Int64(v); }
  void kv(const char* k, int v) { w.Key(k); w.Int(v); }
  void kv(const char* k, bool v) { w.Key(k); w.Bool(v); }
  std::string str() const { return std::string(buf.GetString(), buf.GetSize()); }
};

void write_sync(JsonOut& j, const SyncOutcome& o);

}  // namespace migclock::agent
