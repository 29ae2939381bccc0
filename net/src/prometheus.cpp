#include "migclock/net/prometheus.hpp"

#include <cstdio>

namespace migclock::net::prometheus {

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), buckets_(bounds_.size(), 0) {}

void Histogram::observe(double value) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (value <= bounds_[i]) {
      ++buckets_[i];
      break;
    }
  }
  sum_ += value;
  ++count_;
}

uint64_t Histogram::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string before_le = labels.empty() ? "" : labels + ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i];
    out += name + "_bucket{" + before_le + "le=\"" + number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{" + before_le + "le=\"+Inf\"} " + std::to_string(count_) + "\n";
  const std::string braced = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braced + " " + number(sum_) + "\n";
  out += name + "_count" + braced + " " + std::to_string(count_) + "\n";
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '\\' || c == '"') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string label(const std::string& name, const std::string& value) { return name + "=\"" + escape_label(value) + "\""; }

void header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void counter(std::string& out, const std::string& name, const std::string& help, uint64_t value) {
  header(out, name, help, "counter");
  out += name + " " + std::to_string(value) + "\n";
}

void gauge(std::string& out, const std::string& name, const std::string& help, int64_t value) {
  header(out, name, help, "gauge");
  out += name + " " + std::to_string(value) + "\n";
}

void histogram(std::string& out, const std::string& name, const std::string& help, const Histogram& h) {
  header(out, name, help, "histogram");
  h.render(out, name);
}

}  // namespace migclock::net::prometheus
