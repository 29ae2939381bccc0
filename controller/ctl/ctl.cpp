#include "ctl.hpp"

#include <cstdio>
#include <ctime>

namespace migclock::ctl {

std::map<std::string, Verb>& verbs() {
  static std::map<std::string, Verb> v;
  return v;
}

int usage_error(const std::string& verb_usage, const std::string& msg) {
  std::fprintf(stderr, "migclockctl: %s\nusage: %s\n", msg.c_str(), verb_usage.c_str());
  return 2;
}

std::optional<net::Response> call(const Context& ctx, const std::string& method, const std::string& target,
                                  const std::string& body, int timeout_s) {
  net::ClientOptions o(ctx.server, ctx.ca, ctx.token);
  o.timeout = std::chrono::seconds(timeout_s);
  net::Client c(o);
  auto r = c.request(method, target, body);
  if (!r) {
    std::fprintf(stderr, "migclockctl: %s %s: %s\n", method.c_str(), target.c_str(), r.error().message().c_str());
    return std::nullopt;
  }
  if (r->status >= 300) {
    auto d = net::parse_object(r->body);
    if (ctx.json) std::fprintf(stdout, "%s\n", r->body.c_str());
    if (d && d->HasMember("message") && (*d)["message"].IsString()) {
      std::string field = d->HasMember("field") && (*d)["field"].IsString() ? (*d)["field"].GetString() : "";
      std::fprintf(stderr, "migclockctl: %u %s: %s%s\n", r->status, str(*d, "error").c_str(), (*d)["message"].GetString(),
                   field.empty() ? "" : (" (field " + field + ")").c_str());
    } else {
      std::fprintf(stderr, "migclockctl: HTTP %u\n", r->status);
    }
    return std::nullopt;
  }
  return std::move(r).value();
}

rapidjson::Document parse(const std::string& body) {
  auto d = net::parse_any(body, 64);
  if (!d) {
    std::fprintf(stderr, "migclockctl: server sent invalid JSON: %s\n", d.problem().message.c_str());
    std::exit(1);
  }
  return std::move(d).value();
}

std::string str(const rapidjson::Value& o, const char* key) {
  if (!o.IsObject()) return {};
  auto it = o.FindMember(key);
  if (it == o.MemberEnd()) return {};
  if (it->value.IsString()) return it->value.GetString();
  if (it->value.IsNull()) return "-";
  return net::to_string(it->value);
}

int64_t i64(const rapidjson::Value& o, const char* key) {
  if (!o.IsObject()) return 0;
  auto it = o.FindMember(key);
  return it != o.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : 0;
}

std::string format_time(int64_t ns) {
  if (ns <= 0) return "-";
  time_t s = static_cast<time_t>(ns / 1'000'000'000);
  struct tm tm {};
  gmtime_r(&s, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  char out[96];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>((ns / 1'000'000) % 1000));
  return out;
}

std::string format_ns(int64_t ns) {
  char b[64];
  std::snprintf(b, sizeof b, "%.3f ms", static_cast<double>(ns) / 1e6);
  return b;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
}

bool take_option(std::vector<std::string>& args, const std::string& name, std::string& out) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name) {
      if (i + 1 >= args.size()) return false;
      out = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
      return true;
    }
  }
  return true;
}

bool take_flag(std::vector<std::string>& args, const std::string& name) {
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i] == name) {
      args.erase(args.begin() + static_cast<long>(i));
      return true;
    }
  return false;
}

}  // namespace migclock::ctl
