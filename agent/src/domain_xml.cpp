#include "migclock/agent/domain_xml.hpp"

#include <cctype>

namespace migclock::agent {

namespace {

struct Span {
  size_t begin = std::string::npos;  // '<' of the start tag
  size_t tag_end = 0;                // one past the '>' of the start tag
  bool self_closing = false;
  size_t end = 0;  // one past the element (past </name> or the self-closing '>')
  bool found() const { return begin != std::string::npos; }
};

// Next '<name' start tag at or after `from`, skipping comments and CDATA.
size_t find_start_tag(const std::string& xml, const std::string& name, size_t from, size_t limit) {
  size_t pos = from;
  while (pos < limit) {
    pos = xml.find('<', pos);
    if (pos == std::string::npos || pos >= limit) return std::string::npos;
    if (xml.compare(pos, 4, "<!--") == 0) {
      const auto close = xml.find("-->", pos + 4);
      if (close == std::string::npos) return std::string::npos;
      pos = close + 3;
      continue;
    }
    if (xml.compare(pos + 1, name.size(), name) == 0) {
      const char after = pos + 1 + name.size() < xml.size() ? xml[pos + 1 + name.size()] : '\0';
      if (std::isspace(static_cast<unsigned char>(after)) || after == '>' || after == '/') return pos;
    }
    ++pos;
  }
  return std::string::npos;
}

// End of a start tag: one past its '>', honouring quoted attribute values.
size_t tag_close(const std::string& xml, size_t lt) {
  char quote = 0;
  for (size_t i = lt; i < xml.size(); ++i) {
    const char c = xml[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '>') {
      return i + 1;
    }
  }
  return std::string::npos;
}

Span find_element(const std::string& xml, const std::string& name, size_t from = 0,
                  size_t limit = std::string::npos) {
  Span s;
  if (limit > xml.size()) limit = xml.size();
  const size_t lt = find_start_tag(xml, name, from, limit);
  if (lt == std::string::npos) return s;
  const size_t gt = tag_close(xml, lt);
  if (gt == std::string::npos) return s;
  s.begin = lt;
  s.tag_end = gt;
  s.self_closing = xml[gt - 2] == '/';
  if (s.self_closing) {
    s.end = gt;
    return s;
  }
  const auto close = xml.find("</" + name, gt);
  if (close == std::string::npos) return Span{};
  const auto close_gt = xml.find('>', close);
  if (close_gt == std::string::npos) return Span{};
  s.end = close_gt + 1;
  return s;
}

// Attribute value in a start tag [lt, gt).
std::optional<std::string> attr_in_tag(const std::string& xml, size_t lt, size_t gt, const std::string& attr) {
  size_t pos = lt;
  while (pos < gt) {
    pos = xml.find(attr, pos);
    if (pos == std::string::npos || pos >= gt) return std::nullopt;
    const bool boundary = std::isspace(static_cast<unsigned char>(xml[pos - 1]));
    size_t p = pos + attr.size();
    while (p < gt && std::isspace(static_cast<unsigned char>(xml[p]))) ++p;
    if (boundary && p < gt && xml[p] == '=') {
      ++p;
      while (p < gt && std::isspace(static_cast<unsigned char>(xml[p]))) ++p;
      const char q = xml[p];
      if (q == '\'' || q == '"') {
        const auto e = xml.find(q, p + 1);
        if (e != std::string::npos && e < gt) return xml.substr(p + 1, e - p - 1);
      }
    }
    pos += attr.size();
  }
  return std::nullopt;
}

// Span of the value of `attr` (without quotes), or npos.
std::pair<size_t, size_t> attr_value_span(const std::string& xml, size_t lt, size_t gt, const std::string& attr) {
  const auto v = attr_in_tag(xml, lt, gt, attr);
  if (!v) return {std::string::npos, 0};
  // Locate again to get the position: the first boundary match.
  size_t pos = lt;
  while ((pos = xml.find(attr, pos)) < gt) {
    if (std::isspace(static_cast<unsigned char>(xml[pos - 1]))) {
      size_t p = xml.find_first_of("'\"", pos);
      return {p + 1, v->size()};
    }
    pos += attr.size();
  }
  return {std::string::npos, 0};
}

std::string indentation_before(const std::string& xml, size_t pos) {
  const auto nl = xml.rfind('\n', pos);
  const size_t start = nl == std::string::npos ? 0 : nl + 1;
  size_t i = start;
  while (i < pos && (xml[i] == ' ' || xml[i] == '\t')) ++i;
  return xml.substr(start, i - start);
}

Span find_timer(const std::string& xml, const Span& clock, const char* name) {
  if (!clock.found() || clock.self_closing) return Span{};
  size_t from = clock.tag_end;
  while (true) {
    Span t = find_element(xml, "timer", from, clock.end);
    if (!t.found()) return t;
    if (attr_in_tag(xml, t.begin, t.tag_end, "name").value_or("") == name) return t;
    from = t.end;
  }
}
Span find_tsc_timer(const std::string& xml, const Span& clock) { return find_timer(xml, clock, "tsc"); }

}  // namespace

std::optional<std::string> clock_element(const std::string& xml) {
  const Span c = find_element(xml, "clock");
  if (!c.found()) return std::nullopt;
  return xml.substr(c.begin, c.end - c.begin);
}

namespace {
// A decimal attribute value, whole; nullopt for anything else.
std::optional<uint64_t> parse_hz(const std::optional<std::string>& f) {
  if (!f || f->empty() || !std::isdigit(static_cast<unsigned char>((*f)[0]))) return std::nullopt;
  try {
    size_t used = 0;
    const uint64_t hz = std::stoull(*f, &used);
    if (used != f->size()) return std::nullopt;
    return hz;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}
}  // namespace

std::optional<uint64_t> tsc_timer_frequency_hz(const std::string& xml) {
  const Span t = find_tsc_timer(xml, find_element(xml, "clock"));
  if (!t.found()) return std::nullopt;
  return parse_hz(attr_in_tag(xml, t.begin, t.tag_end, "frequency"));
}

std::optional<CapabilitiesTsc> capabilities_tsc_counter(const std::string& caps) {
  // <capabilities><host><cpu>…<counter name='tsc' …/>: only the host's CPU.
  const Span host = find_element(caps, "host");
  if (!host.found() || host.self_closing) return std::nullopt;
  const Span cpu = find_element(caps, "cpu", host.tag_end, host.end);
  if (!cpu.found() || cpu.self_closing) return std::nullopt;
  for (size_t from = cpu.tag_end;;) {
    const Span c = find_element(caps, "counter", from, cpu.end);
    if (!c.found()) return std::nullopt;
    from = c.end;
    if (attr_in_tag(caps, c.begin, c.tag_end, "name").value_or("") != "tsc") continue;
    const auto hz = parse_hz(attr_in_tag(caps, c.begin, c.tag_end, "frequency"));
    if (!hz || *hz == 0) return std::nullopt;
    CapabilitiesTsc out;
    out.frequency_hz = *hz;
    if (const auto scaling = attr_in_tag(caps, c.begin, c.tag_end, "scaling")) {
      if (*scaling == "yes") out.scaling = true;
      if (*scaling == "no") out.scaling = false;
    }
    return out;
  }
}

bool rtc_catches_up(const std::string& xml) {
  const Span t = find_timer(xml, find_element(xml, "clock"), "rtc");
  return t.found() && attr_in_tag(xml, t.begin, t.tag_end, "tickpolicy").value_or("") == "catchup";
}

bool requires_invtsc(const std::string& xml) {
  const Span cpu = find_element(xml, "cpu");
  if (!cpu.found() || cpu.self_closing) return false;
  size_t from = cpu.tag_end;
  while (true) {
    const Span f = find_element(xml, "feature", from, cpu.end);
    if (!f.found()) return false;
    if (attr_in_tag(xml, f.begin, f.tag_end, "name").value_or("") == "invtsc") {
      const std::string policy = attr_in_tag(xml, f.begin, f.tag_end, "policy").value_or("require");
      return policy == "require" || policy == "force";
    }
    from = f.end;
  }
}

namespace {
// The <channel> whose <target name=…> is `name`, and that target.
struct Channel {
  Span channel, target;
};
std::optional<Channel> find_channel(const std::string& xml, const std::string& name) {
  for (size_t from = 0;;) {
    const Span ch = find_element(xml, "channel", from);
    if (!ch.found()) return std::nullopt;
    const Span target = find_element(xml, "target", ch.tag_end, ch.end);
    if (target.found() && attr_in_tag(xml, target.begin, target.tag_end, "name").value_or("") == name)
      return Channel{ch, target};
    from = ch.end;
  }
}
}  // namespace

std::optional<bool> guest_agent_connected(const std::string& xml) {
  const auto c = find_channel(xml, "org.qemu.guest_agent.0");
  if (!c) return std::nullopt;
  const auto state = attr_in_tag(xml, c->target.begin, c->target.tag_end, "state");
  if (!state) return std::nullopt;
  return *state == "connected";
}

std::optional<std::string> companion_socket_path(const std::string& xml) {
  const auto c = find_channel(xml, "org.migclock.clock.0");
  if (!c) return std::nullopt;
  const Span ch = c->channel;
  if (attr_in_tag(xml, ch.begin, ch.tag_end, "type").value_or("") != "unix") return std::nullopt;
  const Span src = find_element(xml, "source", ch.tag_end, ch.end);
  if (!src.found() || attr_in_tag(xml, src.begin, src.tag_end, "mode").value_or("") != "bind") return std::nullopt;
  auto path = attr_in_tag(xml, src.begin, src.tag_end, "path");
  if (!path || path->empty()) return std::nullopt;
  return path;
}

std::string metadata_element(const std::string& hostname, uint32_t tsc_khz) {
  // virDomainSetMetadata takes the element without a namespace declaration;
  // libvirt adds it from the key and URI it is given.
  std::string safe;
  for (char c : hostname) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_') safe += c;
  }
  return "<source host='" + safe + "' tsc_khz='" + std::to_string(tsc_khz) + "'/>";
}

std::optional<std::string> migclock_metadata_attr(const std::string& xml, const std::string& attr) {
  const Span s = find_element(xml, std::string(kMetadataPrefix) + ":source");
  if (!s.found()) return std::nullopt;
  return attr_in_tag(xml, s.begin, s.tag_end, attr);
}

std::string xml_text_of(const std::string& xml, const std::string& element) {
  const Span s = find_element(xml, element);
  if (!s.found() || s.self_closing) return {};
  const auto close = xml.find("</" + element, s.tag_end);
  return xml.substr(s.tag_end, close - s.tag_end);
}

Result<std::string> pin_tsc_frequency(const std::string& xml, uint64_t frequency_hz) {
  const std::string hz = std::to_string(frequency_hz);
  const Span clock = find_element(xml, "clock");
  if (!clock.found()) {
    const auto domain_close = xml.rfind("</domain>");
    if (domain_close == std::string::npos) return make_error(errc::malformed_input, "domain XML: no </domain>");
    const std::string ind = indentation_before(xml, domain_close) + "  ";
    const std::string insert = ind + "<clock offset='utc'>\n" + ind + "  <timer name='tsc' frequency='" + hz +
                               "'/>\n" + ind + "</clock>\n";
    // Insert at the start of the </domain> line so indentation stays right.
    const auto nl = xml.rfind('\n', domain_close);
    const size_t at = nl == std::string::npos ? domain_close : nl + 1;
    return xml.substr(0, at) + insert + xml.substr(at);
  }
  const std::string ind = indentation_before(xml, clock.begin);
  const std::string timer = "<timer name='tsc' frequency='" + hz + "'/>";
  if (clock.self_closing) {
    // "<clock offset='utc'/>" → "<clock offset='utc'>\n  <timer …/>\n</clock>"
    size_t slash = clock.tag_end - 2;
    while (slash > clock.begin && std::isspace(static_cast<unsigned char>(xml[slash - 1]))) --slash;
    return xml.substr(0, slash) + ">\n" + ind + "  " + timer + "\n" + ind + "</clock>" + xml.substr(clock.end);
  }
  const Span t = find_tsc_timer(xml, clock);
  if (t.found()) {
    const auto [vpos, vlen] = attr_value_span(xml, t.begin, t.tag_end, "frequency");
    if (vpos != std::string::npos) return xml.substr(0, vpos) + hz + xml.substr(vpos + vlen);
    const auto [npos_, nlen] = attr_value_span(xml, t.begin, t.tag_end, "name");
    const size_t after_name = npos_ + nlen + 1;  // past the closing quote
    return xml.substr(0, after_name) + " frequency='" + hz + "'" + xml.substr(after_name);
  }
  const size_t close = xml.rfind("</clock", clock.end);
  const auto nl = xml.rfind('\n', close);
  const bool own_line = nl != std::string::npos && nl >= clock.tag_end &&
                        xml.find_first_not_of(" \t", nl + 1) == close;
  if (own_line) return xml.substr(0, nl + 1) + ind + "  " + timer + "\n" + xml.substr(nl + 1);
  return xml.substr(0, close) + timer + xml.substr(close);
}

}  // namespace migclock::agent
