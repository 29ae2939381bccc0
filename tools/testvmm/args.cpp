#include "args.hpp"

#include <stdexcept>

#include "migclock/common/parse_int.hpp"

namespace migclock::testvmm {

Args::Args(int argc, char** argv, const std::set<std::string>& flags, const std::set<std::string>& options) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + a + "'");
    std::string name = a.substr(2);
    if (flags.count(name)) {
      flags_.insert(name);
    } else if (options.count(name)) {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      values_[name] = argv[++i];
    } else {
      throw std::invalid_argument("unknown option '" + a + "'");
    }
  }
}

std::string Args::str(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::string Args::require(const std::string& name) const {
  if (!has(name)) throw std::invalid_argument("--" + name + " is required");
  return str(name);
}

int64_t Args::integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const {
  if (!has(name)) return fallback;
  const std::string& text = values_.at(name);
  const auto v = parse_int(text, min, max);
  if (!v)
    throw std::invalid_argument("--" + name + " must be an integer in [" + std::to_string(min) + ", " +
                                std::to_string(max) + "], got '" + text + "'");
  return *v;
}

}  // namespace migclock::testvmm
