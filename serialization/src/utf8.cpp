#include "utf8.hpp"

#include "migclock/common/text_guard.hpp"

// One implementation of RFC 3629 for the whole tree (common/text_guard):
// the controller and agent APIs refuse what the utf8_string rule refuses.
namespace migclock::serialization::detail {

std::size_t utf8_sequence_length(std::string_view text, std::size_t i) { return migclock::utf8_sequence_length(text, i); }

std::string valid_utf8(std::string_view text) { return migclock::valid_utf8(text); }

}  // namespace migclock::serialization::detail
