#include "migclock/protocol/command_messages.hpp"

#include "migclock/protocol/migration_messages.hpp"

namespace migclock::protocol {

using net::FieldReader;
using net::JsonWriter;

void write(JsonWriter& w, const CommandDelivery& c) {
  w.begin_object().key("id").value(c.id).key("kind").value(c.kind).key("vm_uuid").value(c.vm_uuid)
      .key("vm_name").value(c.vm_name).end_object();
}

void write(JsonWriter& w, const CommandBatch& batch) {
  w.begin_array();
  for (const auto& c : batch) write(w, c);
  w.end_array();
}

std::optional<net::Problem> read(const rapidjson::Value& v, CommandDelivery& c) {
  FieldReader r(v);
  r.string("id", c.id).string("kind", c.kind).string("vm_uuid", c.vm_uuid).string("vm_name", c.vm_name, false);
  return r.problem();
}

std::optional<net::Problem> read(const rapidjson::Value& v, CommandBatch& batch) {
  if (!v.IsArray()) return net::problem(net::ApiErrc::invalid_json, "expected a JSON array of commands");
  for (const auto& item : v.GetArray()) {
    CommandDelivery c;
    if (auto p = read(item, c)) return p;
    batch.push_back(std::move(c));
  }
  return std::nullopt;
}

void write(JsonWriter& w, const CommandResult& r) {
  w.begin_object().key("ok").value(r.ok).key("message").value(r.message);
  if (!r.results_json.empty()) w.key("results").raw(r.results_json);
  w.end_object();
}

std::optional<net::Problem> read(const rapidjson::Value& v, CommandResult& out) {
  const rapidjson::Value* results = nullptr;
  FieldReader r(v);
  r.boolean("ok", out.ok).string("message", out.message, false, kMaxReasonBytes).object("results", results);
  if (!r.ok()) return r.problem();
  if (results) out.results_json = net::to_string(*results);
  return std::nullopt;
}

}  // namespace migclock::protocol
