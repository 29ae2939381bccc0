// The decode boundary: every exception cereal, rapidjson or the schema's
// checks can throw becomes an Error here, so callers never see one.
#include "migclock/serialization/snapshot_io.hpp"

#include <exception>
#include <new>

#include "codecs.hpp"
#include "cereal_snapshot.hpp"
#include "migclock/serialization/envelope.hpp"

namespace migclock::serialization {
namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A snapshot this build could not decode again is refused at encode time.
Status check_encodable(const snapshot::Snapshot& s) {
  if (s.vcpus.size() > kMaxVcpus)
    return make_error(errc::too_large, "snapshot.vcpus: " + std::to_string(s.vcpus.size()) +
                                           " vCPUs exceed the limit of " + std::to_string(kMaxVcpus));
  const std::pair<const char*, const std::string*> strings[] = {
      {"vm.uuid", &s.vm.uuid},           {"vm.name", &s.vm.name},
      {"host.hostname", &s.host.hostname}, {"host.boot_id", &s.host.boot_id},
      {"host.clocksource", &s.host.clocksource}, {"software_version", &s.software_version},
      {"rtc.source", &s.rtc.source}};
  for (const auto& [name, value] : strings)
    if (value->size() > detail::kMaxDecodedStringBytes)
      return make_error(errc::too_large, std::string("snapshot.") + name + ": " + std::to_string(value->size()) +
                                             " bytes exceed the limit of " +
                                             std::to_string(detail::kMaxDecodedStringBytes));
  return {};
}

template <class Fn>
auto guarded(const char* what, Fn&& fn) -> Result<decltype(fn())> {
  detail::reset_path();
  try {
    return fn();
  } catch (const detail::DecodeError& e) {
    // Schema checks name their field; say which decoder too.
    std::string message = e.what();
    if (message.rfind("snapshot ", 0) != 0) message = std::string(what) + ": " + message;
    return make_error(e.code(), std::move(message));
  } catch (const std::bad_alloc&) {
    return make_error(errc::too_large, std::string(what) + ": out of memory");
  } catch (const std::exception& e) {
    std::string context = std::string(what) + ": ";
    if (!detail::failed_path.empty()) context += detail::failed_path + ": ";
    // cereal turns rapidjson's type checks into assertion texts
    // ("data_.f.flags & kUint64Flag"); say what they mean first.
    const std::string detail_text = e.what();
    if (detail_text.find("rapidjson internal assertion failure") != std::string::npos)
      context += "wrong JSON type or value out of range (" + detail_text + ")";
    else
      context += detail_text;
    return make_error(errc::malformed_input, std::move(context));
  } catch (...) {
    return make_error(errc::malformed_input, std::string(what) + ": unknown decoder failure");
  }
}

}  // namespace

const char* format_name(Format f) { return f == Format::json ? "json" : "binary"; }

std::optional<Format> format_from_name(std::string_view name) {
  for (Format f : {Format::json, Format::binary})
    if (name == format_name(f)) return f;
  return std::nullopt;
}

Result<std::string> encode(const snapshot::Snapshot& s, Format format) {
  MIGCLOCK_TRY(check_encodable(s));
  auto encoded = guarded("snapshot encode", [&]() -> std::string {
    if (format == Format::json) return detail::encode_json_throwing(s);
    return detail::encode_binary_throwing(s);
  });
  if (encoded.ok() && encoded->size() > kMaxEncodedBytes)
    return make_error(errc::too_large, "snapshot encode: " + std::to_string(encoded->size()) +
                                           " bytes exceed the limit of " + std::to_string(kMaxEncodedBytes));
  return encoded;
}

Result<snapshot::Snapshot> decode(std::string_view bytes, Format format) {
  if (format == Format::json) {
    if (bytes.size() > kMaxEncodedBytes)
      return make_error(errc::too_large, "snapshot JSON: " + std::to_string(bytes.size()) +
                                             " bytes exceed the limit of " + std::to_string(kMaxEncodedBytes));
    return guarded("snapshot JSON", [&] { return detail::decode_json_throwing(bytes); });
  }
  auto payload = open_envelope(bytes);
  if (!payload) return payload.error();
  return guarded("snapshot payload", [&] { return detail::decode_payload_throwing(*payload); });
}

Result<Format> format_for_path(const std::string& path) {
  if (ends_with(path, ".json")) return Format::json;
  if (ends_with(path, ".mcs")) return Format::binary;
  return make_error(errc::invalid_argument,
                    path + ": unknown snapshot extension (use .json for JSON or .mcs for the binary envelope)");
}

}  // namespace migclock::serialization
