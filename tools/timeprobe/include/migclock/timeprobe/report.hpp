// The demo's verdict: per arm x event, what the judge saw after each event
// (tools/demo.sh writes one JSON line per event; `migclock-timeprobe report`
// turns them into report.json, the printed table and the plot's data).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "migclock/common/result.hpp"

namespace migclock::timeprobe {

struct PlotPoint {
  double since_resume_ms = 0;
  double offset_us = 0;
  double uncertainty_us = 0;
};

// One event as the demo recorded it.
struct EventResult {
  std::string arm;    // migclock | none | settime_now
  std::string event;  // migration | suspend
  int index = 0;
  double before_offset_us = 0;      // judge, just before the event
  double offset_us = 0;             // judge, at the end of the watch after resume
  double uncertainty_us = 0;        // of offset_us
  std::optional<double> to_1ms_ms;  // resume -> stayed within 1 ms (nullopt: not within the watch)
  std::optional<double> to_100us_ms;
  double watch_ms = 0;
  std::vector<PlotPoint> points;
};

// Parses one line: {"arm","event","index","before":{estimate},"watch":{watch}}
// (the JSON of `migclock-timeprobe measure` and `watch`).
Result<EventResult> parse_event(std::string_view line);

struct Cell {
  std::string arm, event;
  int n = 0;
  double median_abs_offset_us = 0, max_abs_offset_us = 0;
  double uncertainty_us = 0;  // the largest of the cell's events: bounds every figure of the row
  int reached_1ms = 0, reached_100us = 0;
  std::optional<double> median_to_1ms_ms, max_to_1ms_ms, median_to_100us_ms, max_to_100us_ms;
  double watch_ms = 0;
};

// One cell per (arm, event) present, arms in the order migclock, none,
// settime_now, then any other; events migration before suspend.
std::vector<Cell> aggregate(const std::vector<EventResult>& events);

std::string report_json(const std::vector<Cell>& cells, const std::vector<EventResult>& events);
std::string table(const std::vector<Cell>& cells);
// gnuplot data: one block per arm (first event of kind `event`), separated
// by two blank lines, each headed by a comment naming the arm. Columns:
// ms since resume, offset µs, ± µs.
std::string plot_data(const std::vector<EventResult>& events, const std::string& event, std::vector<std::string>* arms);

}  // namespace migclock::timeprobe
