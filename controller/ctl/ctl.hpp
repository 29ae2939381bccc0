// migclockctl plumbing: global flags, the API client, output helpers and
// the verb registry (each verb is one ctl/verb_<name>.cpp).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "migclock/net/client.hpp"
#include "migclock/net/json.hpp"

namespace migclock::ctl {

struct Context {
  std::string server, token, ca;
  bool json = false;
  std::vector<std::string> args;  // after the verb
};

// Exit codes: 0 ok, 1 API/transport error, 2 usage error.
int usage_error(const std::string& verb_usage, const std::string& msg);
// GET/POST the API; on HTTP >= 300 or transport failure prints the error
// (`{error, message}` or the transport message) and returns nullopt.
std::optional<net::Response> call(const Context& ctx, const std::string& method, const std::string& target,
                                  const std::string& body = {}, int timeout_s = 10);
// Parses a JSON body the API returned (exits 1 on garbage).
rapidjson::Document parse(const std::string& body);
std::string str(const rapidjson::Value& obj, const char* key);
int64_t i64(const rapidjson::Value& obj, const char* key);
// "2026-11-22 08:09:01.123Z" for ns since the epoch; "-" for 0.
std::string format_time(int64_t ns);
std::string format_ns(int64_t ns);  // "1.234 ms"
// Prints rows as aligned columns.
void print_table(const std::vector<std::vector<std::string>>& rows);
// Pops "--flag value" style options; returns false on a missing value.
bool take_option(std::vector<std::string>& args, const std::string& name, std::string& out);
bool take_flag(std::vector<std::string>& args, const std::string& name);

struct Verb {
  std::string name;
  std::string summary;
  std::string usage;
  std::function<int(Context&)> run;
};
std::map<std::string, Verb>& verbs();
struct VerbRegistrar {
  explicit VerbRegistrar(Verb v) { verbs()[v.name] = std::move(v); }
};

}  // namespace migclock::ctl
