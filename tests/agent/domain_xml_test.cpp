// The migrate-begin XML filter's edits: the output parses, and nothing but
// <clock> differs from the input (compared as parsed trees, every element,
// attribute and text node).
#include <gtest/gtest.h>

#include <cereal/macros.hpp>  // CEREAL_NOEXCEPT, used by the bundled rapidxml
#include <cereal/external/rapidxml/rapidxml.hpp>
#include <string>
#include <vector>

#include "migclock/agent/domain_xml.hpp"

namespace migclock::agent {
namespace {

namespace rx = cereal::rapidxml;

// Canonical text of a subtree, skipping every <clock> element.
void canon(const rx::xml_node<>* n, std::string& out, bool skip_clock) {
  for (const rx::xml_node<>* c = n->first_node(); c; c = c->next_sibling()) {
    if (c->type() == rx::node_element) {
      const std::string name(c->name(), c->name_size());
      if (skip_clock && name == "clock") continue;
      out += "<" + name;
      for (const rx::xml_attribute<>* a = c->first_attribute(); a; a = a->next_attribute())
        out += " " + std::string(a->name(), a->name_size()) + "=" + std::string(a->value(), a->value_size());
      out += ">";
      canon(c, out, skip_clock);
      out += "</" + name + ">";
    } else if (c->type() == rx::node_data) {
      std::string v(c->value(), c->value_size());
      if (v.find_first_not_of(" \t\n") != std::string::npos) out += v;
    }
  }
}

struct Parsed {
  std::vector<char> buf;
  rx::xml_document<> doc;
  explicit Parsed(const std::string& s) : buf(s.begin(), s.end()) {
    buf.push_back('\0');
    doc.parse<0>(buf.data());  // throws rx::parse_error on malformed XML
  }
  std::string without_clock() const {
    std::string out;
    canon(&doc, out, true);
    return out;
  }
  std::string clock() const {
    std::string out;
    const auto* d = doc.first_node("domain");
    const auto* c = d ? d->first_node("clock") : nullptr;
    if (!c) return "";
    rx::xml_document<> tmp;
    out += "<clock";
    for (const rx::xml_attribute<>* a = c->first_attribute(); a; a = a->next_attribute())
      out += " " + std::string(a->name(), a->name_size()) + "=" + std::string(a->value(), a->value_size());
    out += ">";
    canon(c, out, false);
    return out + "</clock>";
  }
};

const char* kDomain = R"(<domain type='qemu'>
  <name>vm1</name>
  <uuid>0b5f9a3e-0000-4000-8000-000000000001</uuid>
  <metadata>
    <migclock:source xmlns:migclock="https://migclock.dev/xmlns/agent/1" host="hv-a" tsc_khz="2899998"/>
  </metadata>
  <memory unit='KiB'>196608</memory>
  <cpu mode='custom' match='exact'>
    <model>qemu64</model>
    <feature policy='require' name='invtsc'/>
  </cpu>
  <!-- <clock offset='localtime'/> a comment must not be edited -->
  <clock offset='utc'>
    <timer name='rtc' tickpolicy='catchup'/>
    <timer name='pit' tickpolicy='delay'/>
  </clock>
  <devices>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0' state='connected'/>
    </channel>
  </devices>
</domain>
)";

TEST(DomainXml, RtcCatchupIsReadFromTheClockElement) {
  EXPECT_TRUE(rtc_catches_up("<domain><clock offset='utc'><timer name='rtc' tickpolicy='catchup'/></clock></domain>"));
  EXPECT_FALSE(rtc_catches_up("<domain><clock offset='utc'><timer name='rtc' tickpolicy='delay'/></clock></domain>"));
  EXPECT_FALSE(rtc_catches_up("<domain><clock offset='utc'><timer name='pit' tickpolicy='catchup'/></clock></domain>"));
  EXPECT_FALSE(rtc_catches_up("<domain><clock offset='utc'/></domain>"));
  EXPECT_FALSE(rtc_catches_up("<domain/>"));
}

TEST(DomainXml, ReadsFactsTheAgentNeeds) {
  EXPECT_EQ(xml_text_of(kDomain, "uuid"), "0b5f9a3e-0000-4000-8000-000000000001");
  EXPECT_TRUE(requires_invtsc(kDomain));
  EXPECT_EQ(guest_agent_connected(kDomain), std::optional<bool>(true));
  EXPECT_EQ(migclock_metadata_attr(kDomain, "tsc_khz"), std::optional<std::string>("2899998"));
  EXPECT_EQ(migclock_metadata_attr(kDomain, "host"), std::optional<std::string>("hv-a"));
  EXPECT_FALSE(tsc_timer_frequency_hz(kDomain).has_value());
  ASSERT_TRUE(clock_element(kDomain).has_value());
  EXPECT_EQ(clock_element(kDomain)->rfind("<clock offset='utc'>", 0), 0u);
}

TEST(DomainXml, CompanionSocketFromTheLiveChannel) {
  // As libvirt shows it live: the guest agent's channel first, then ours.
  const std::string xml =
      "<domain><devices>"
      "<channel type='unix'><source mode='bind' path='/run/ga.sock'/>"
      "<target type='virtio' name='org.qemu.guest_agent.0' state='connected'/></channel>"
      "<channel type='unix'>\n  <source mode='bind' path='/run/cc-vm1.sock'/>\n"
      "  <target type='virtio' name='org.migclock.clock.0' state='connected'/>\n</channel>"
      "</devices></domain>";
  EXPECT_EQ(companion_socket_path(xml), std::optional<std::string>("/run/cc-vm1.sock"));
  EXPECT_FALSE(companion_socket_path(kDomain)) << "no companion channel";
  // A pty channel, or a socket QEMU connects to rather than binds: nothing the agent can reach.
  EXPECT_FALSE(companion_socket_path("<channel type='pty'><target type='virtio' name='org.migclock.clock.0'/></channel>"));
  EXPECT_FALSE(companion_socket_path("<channel type='unix'><source mode='connect' path='/x'/>"
                                     "<target type='virtio' name='org.migclock.clock.0'/></channel>"));
}

TEST(DomainXml, InvtscOnlyWhenRequiredOrForced) {
  EXPECT_FALSE(requires_invtsc("<domain><cpu><feature policy='disable' name='invtsc'/></cpu></domain>"));
  EXPECT_TRUE(requires_invtsc("<domain><cpu><feature policy='force' name='invtsc'/></cpu></domain>"));
  EXPECT_FALSE(requires_invtsc("<domain><cpu mode='host-model'/></domain>"));
}

TEST(DomainXml, PinAddsTimerAndChangesNothingElse) {
  auto out = pin_tsc_frequency(kDomain, 2899998000);
  ASSERT_TRUE(out.ok()) << out.error().message();
  Parsed before(kDomain), after(*out);
  EXPECT_EQ(before.without_clock(), after.without_clock());
  EXPECT_EQ(after.clock(),
            "<clock offset=utc><timer name=rtc tickpolicy=catchup></timer><timer name=pit tickpolicy=delay></timer>"
            "<timer name=tsc frequency=2899998000></timer></clock>");
  EXPECT_EQ(tsc_timer_frequency_hz(*out), std::optional<uint64_t>(2899998000));
  // The comment mentioning <clock> is untouched.
  EXPECT_NE(out->find("<!-- <clock offset='localtime'/> a comment must not be edited -->"), std::string::npos);
}

TEST(DomainXml, PinReplacesAnExistingFrequency) {
  const std::string xml = "<domain>\n  <clock offset='utc'>\n    <timer name='tsc' frequency='1000' mode='native'/>\n  </clock>\n</domain>\n";
  auto out = pin_tsc_frequency(xml, 2500000000);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "<domain>\n  <clock offset='utc'>\n    <timer name='tsc' frequency='2500000000' mode='native'/>\n  </clock>\n</domain>\n");
}

TEST(DomainXml, PinAddsFrequencyToATscTimerWithoutOne) {
  const std::string xml = "<domain><clock offset='utc'><timer name='tsc' mode='native'/></clock></domain>";
  auto out = pin_tsc_frequency(xml, 42000);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "<domain><clock offset='utc'><timer name='tsc' frequency='42000' mode='native'/></clock></domain>");
}

TEST(DomainXml, PinOpensASelfClosingClock) {
  const std::string xml = "<domain>\n  <name>x</name>\n  <clock offset='utc'/>\n  <on_poweroff>destroy</on_poweroff>\n</domain>\n";
  auto out = pin_tsc_frequency(xml, 3000000000);
  ASSERT_TRUE(out.ok());
  Parsed before(xml), after(*out);
  EXPECT_EQ(before.without_clock(), after.without_clock());
  EXPECT_EQ(after.clock(), "<clock offset=utc><timer name=tsc frequency=3000000000></timer></clock>");
}

TEST(DomainXml, PinAddsAClockWhenThereIsNone) {
  const std::string xml = "<domain type='kvm'>\n  <name>x</name>\n</domain>\n";
  auto out = pin_tsc_frequency(xml, 3000000000);
  ASSERT_TRUE(out.ok());
  Parsed before(xml), after(*out);
  EXPECT_EQ(before.without_clock(), after.without_clock());
  EXPECT_EQ(after.clock(), "<clock offset=utc><timer name=tsc frequency=3000000000></timer></clock>");
}

TEST(DomainXml, NotADomainIsAnError) {
  auto out = pin_tsc_frequency("<network/>", 1);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, make_error_code(errc::malformed_input));
}

TEST(DomainXml, MetadataElementIsSafeXml) {
  const std::string el = metadata_element("hv-a'\"<x>", 2899998);
  EXPECT_EQ(el, "<source host='hv-ax' tsc_khz='2899998'/>");
}

}  // namespace
}  // namespace migclock::agent

namespace migclock::agent {
namespace {

// virConnectGetCapabilities() as libvirt 9 writes it on a KVM host.
const char* kCapsWithCounter = R"(<capabilities>
  <host>
    <uuid>8c6f3e2a-0000-4000-8000-000000000001</uuid>
    <cpu>
      <arch>x86_64</arch>
      <model>Skylake-Server-IBRS</model>
      <counter name='other' frequency='1'/>
      <counter name='tsc' frequency='2299998000' scaling='no'/>
    </cpu>
  </host>
  <guest><arch name='x86_64'><counter name='tsc' frequency='1000'/></arch></guest>
</capabilities>)";

TEST(CapabilitiesTsc, ReadsTheHostCounterAndItsScaling) {
  auto c = capabilities_tsc_counter(kCapsWithCounter);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->frequency_hz, 2'299'998'000u);
  ASSERT_TRUE(c->scaling.has_value());
  EXPECT_FALSE(*c->scaling);
}

TEST(CapabilitiesTsc, NoCounterOrABadOneStatesNothing) {
  // Without /dev/kvm libvirt has no TSC counter to report.
  EXPECT_FALSE(capabilities_tsc_counter("<capabilities><host><cpu><arch>x86_64</arch></cpu></host></capabilities>"));
  EXPECT_FALSE(capabilities_tsc_counter(
      "<capabilities><host><cpu><counter name='tsc' frequency='-5'/></cpu></host></capabilities>"));
  EXPECT_FALSE(capabilities_tsc_counter(
      "<capabilities><host><cpu><counter name='tsc' frequency='0'/></cpu></host></capabilities>"));
  // A counter outside the host's <cpu> is not the host's.
  EXPECT_FALSE(capabilities_tsc_counter(
      "<capabilities><host><cpu/></host><guest><counter name='tsc' frequency='1000'/></guest></capabilities>"));
  auto unsaid = capabilities_tsc_counter(
      "<capabilities><host><cpu><counter name='tsc' frequency='3000000000'/></cpu></host></capabilities>");
  ASSERT_TRUE(unsaid);
  EXPECT_FALSE(unsaid->scaling.has_value());
}

}  // namespace
}  // namespace migclock::agent
