// The `migclock` CLI is a set of verbs, one per file (verb_*.cpp). Each file
// registers itself with a static VerbRegistrar, so adding a verb touches no
// other file.
#pragma once

#include <functional>
#include <map>
#include <string>

namespace migclock::cli {

using VerbFn = std::function<int(int argc, char** argv)>;  // argv[0] is the verb

struct Verb {
  std::string summary;
  VerbFn run;
};

std::map<std::string, Verb>& verbs();

struct VerbRegistrar {
  VerbRegistrar(const std::string& name, std::string summary, VerbFn fn) {
    verbs()[name] = Verb{std::move(summary), std::move(fn)};
  }
};

}  // namespace migclock::cli
