// How rapidjson behaves in every C++ file of the tree. Not included by hand:
// the top-level CMakeLists.txt puts it ahead of each file (-include), so the
// definition cannot depend on what a file includes first.
//
// rapidjson checks its own preconditions with RAPIDJSON_ASSERT, assert() by
// default: an abort on hostile input where a check was missed (or nothing
// at all under NDEBUG). cereal redefines it to throw, but only in files that
// include cereal before rapidjson, so one binary held two definitions of the
// same inline code. Here it throws everywhere: a missed check becomes an
// exception (a refused snapshot, a 500), never an abort. cereal's own
// definition is guarded by #ifndef, so it yields to this one.
#pragma once

#include <stdexcept>

#define RAPIDJSON_ASSERT_THROWS
#define RAPIDJSON_ASSERT(x)                                                       \
  if (!(x)) {                                                                     \
    throw ::std::logic_error("rapidjson internal assertion failure: " #x);        \
  }
