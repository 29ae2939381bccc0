// Command-line options of the testvmm commands: --name VALUE pairs and
// flags, with numbers checked (exceptions stop at main()).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace migclock::testvmm {

class Args {
 public:
  // `flags` take no value; every other --option takes one. Throws
  // std::invalid_argument naming the offending argument.
  Args(int argc, char** argv, const std::set<std::string>& flags, const std::set<std::string>& options);

  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string str(const std::string& name, const std::string& fallback = "") const;
  // Throws std::invalid_argument unless the value is an integer in [min, max].
  int64_t integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const;
  std::string require(const std::string& name) const;

 private:
  std::set<std::string> flags_;
  std::map<std::string, std::string> values_;
};

}  // namespace migclock::testvmm
