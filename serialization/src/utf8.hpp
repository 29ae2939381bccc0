// Internal: UTF-8 well-formedness (RFC 3629), shared by validation (which
// refuses ill-formed strings) and the JSON reports of `migclock snapshot`
// (which must stay valid JSON even for a snapshot that failed validation).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace migclock::serialization::detail {

// Length (1..4) of the well-formed UTF-8 sequence starting at text[i], or 0
// if the bytes there are ill-formed: a stray continuation byte, an overlong
// form, a UTF-16 surrogate, a code point beyond U+10FFFF, or a sequence cut
// short.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);

// text with each ill-formed byte replaced by U+FFFD (for display only).
std::string valid_utf8(std::string_view text);

}  // namespace migclock::serialization::detail
