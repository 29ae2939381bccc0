// The Prometheus text exposition format (version 0.0.4), shared by the
// agent's and the controller's GET /metrics: one histogram type and one set
// of renderers, so both endpoints format numbers and labels alike.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace migclock::net::prometheus {

// A cumulative histogram with fixed upper bounds. Thread-safe (its own
// lock), so callers may observe from any thread without a lock of theirs.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  uint64_t count() const;
  // "name_bucket{<labels,>le=...} n" lines plus _sum and _count. `labels`
  // is already rendered: `host="a"` (see label()).
  void render(std::string& out, const std::string& name, const std::string& labels = {}) const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<uint64_t> buckets_;  // per bound (non-cumulative); above the last bound only count_ sees it
  double sum_ = 0;
  uint64_t count_ = 0;
};

// A sample value: "%.9g".
std::string number(double v);
// A label value with '\\', '"' and newlines escaped.
std::string escape_label(const std::string& value);
// `name="value"`, escaped.
std::string label(const std::string& name, const std::string& value);

// "# HELP name help\n# TYPE name type\n".
void header(std::string& out, const std::string& name, const std::string& help, const char* type);
// A header and one unlabelled sample.
void counter(std::string& out, const std::string& name, const std::string& help, uint64_t value);
void gauge(std::string& out, const std::string& name, const std::string& help, int64_t value);
// A header and the histogram's lines.
void histogram(std::string& out, const std::string& name, const std::string& help, const Histogram& h);

}  // namespace migclock::net::prometheus
