// The demo's report from event lines: cells, JSON keys, plot blocks.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "migclock/timeprobe/report.hpp"

namespace migclock::timeprobe {
namespace {

std::string line(const std::string& arm, const std::string& event, int i, double off, double unc, const char* t1,
                 const char* t100) {
  return R"({"arm":")" + arm + R"(","event":")" + event + R"(","index":)" + std::to_string(i) +
         R"(,"before":{"offset_us":3.0},"watch":{"watch_ms":2500,"final":{"offset_us":)" + std::to_string(off) +
         R"(,"uncertainty_us":)" + std::to_string(unc) + R"(},"to_1ms_ms":)" + t1 + R"(,"to_100us_ms":)" + t100 +
         R"(,"points":[[5.0,-80000.0,40.0],[25.0,)" + std::to_string(off) + R"(,40.0]]}})";
}

std::vector<EventResult> parse_all(const std::vector<std::string>& lines) {
  std::vector<EventResult> out;
  for (const auto& l : lines) {
    auto e = parse_event(l);
    EXPECT_TRUE(e) << (e ? "" : e.error().message());
    if (e) out.push_back(*e);
  }
  return out;
}

TEST(TimeprobeReport, AggregatesPerArmAndEventInAFixedOrder) {
  auto evs = parse_all({line("none", "migration", 1, -80000, 50, "null", "null"),
                        line("migclock", "suspend", 1, 30, 45, "400", "700"),
                        line("migclock", "migration", 1, -40, 60, "350", "600"),
                        line("migclock", "migration", 2, 90, 70, "380", "null"),
                        line("migclock", "migration", 3, 10, 40, "300", "500")});
  auto cells = aggregate(evs);
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_EQ(cells[0].arm, "migclock");
  EXPECT_EQ(cells[0].event, "migration");
  EXPECT_EQ(cells[1].event, "suspend");
  EXPECT_EQ(cells[2].arm, "none");
  EXPECT_EQ(cells[0].n, 3);
  EXPECT_DOUBLE_EQ(cells[0].median_abs_offset_us, 40);
  EXPECT_DOUBLE_EQ(cells[0].max_abs_offset_us, 90);
  EXPECT_DOUBLE_EQ(cells[0].uncertainty_us, 70);
  EXPECT_EQ(cells[0].reached_1ms, 3);
  EXPECT_EQ(cells[0].reached_100us, 2);
  EXPECT_DOUBLE_EQ(*cells[0].median_to_1ms_ms, 350);
  EXPECT_DOUBLE_EQ(*cells[0].max_to_100us_ms, 600);
  EXPECT_EQ(cells[2].reached_1ms, 0);
  EXPECT_FALSE(cells[2].median_to_1ms_ms);
}

TEST(TimeprobeReport, JsonCarriesTheDocumentedKeys) {
  auto evs = parse_all({line("migclock", "migration", 1, -40, 60, "350", "600"),
                        line("none", "suspend", 1, -3e6, 50, "null", "null")});
  rapidjson::Document d;
  d.Parse(report_json(aggregate(evs), evs).c_str());
  ASSERT_FALSE(d.HasParseError());
  EXPECT_DOUBLE_EQ(d["uncertainty_us"].GetDouble(), 60);
  const auto& m = d["arms"]["migclock"]["migration"];
  EXPECT_EQ(m["n"].GetInt(), 1);
  EXPECT_DOUBLE_EQ(m["median_abs_offset_us"].GetDouble(), 40);
  EXPECT_DOUBLE_EQ(m["max_abs_offset_us"].GetDouble(), 40);
  EXPECT_DOUBLE_EQ(m["events"][0]["before_offset_us"].GetDouble(), 3);
  EXPECT_DOUBLE_EQ(d["arms"]["none"]["suspend"]["max_abs_offset_us"].GetDouble(), 3e6);
  EXPECT_TRUE(d["arms"]["none"]["suspend"]["median_to_1ms_ms"].IsNull());
}

TEST(TimeprobeReport, TableSaysNeverWhenTheBoundWasNotReached) {
  auto evs = parse_all({line("none", "migration", 1, -80000, 50, "null", "null")});
  const auto t = table(aggregate(evs));
  EXPECT_NE(t.find("80.00 ms"), std::string::npos) << t;
  EXPECT_NE(t.find("never (>2.5 s)"), std::string::npos) << t;
}

TEST(TimeprobeReport, PlotHasOneBlockPerArmForTheFirstMigration) {
  auto evs = parse_all({line("settime_now", "migration", 1, 900, 50, "1", "null"),
                        line("migclock", "migration", 1, -40, 60, "350", "600"),
                        line("migclock", "migration", 2, 90, 70, "380", "null"),
                        line("none", "suspend", 1, 1, 1, "1", "1")});
  std::vector<std::string> arms;
  const auto p = plot_data(evs, "migration", &arms);
  ASSERT_EQ(arms.size(), 2u);
  EXPECT_EQ(arms[0], "migclock");
  EXPECT_EQ(arms[1], "settime_now");
  EXPECT_NE(p.find("# migclock migration 1\n5.00 -80000.0 40.0\n25.00 -40.0 40.0\n\n\n# settime_now"),
            std::string::npos)
      << p;
}

TEST(TimeprobeReport, MalformedLinesAreRefusedWithAReason) {
  EXPECT_FALSE(parse_event("not json"));
  EXPECT_FALSE(parse_event(R"({"arm":"x","event":"y"})"));
  auto e = parse_event(R"({"arm":"x","event":"y","watch":{"final":{"offset_us":1}}})");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().context.find("uncertainty_us"), std::string::npos);
}

}  // namespace
}  // namespace migclock::timeprobe
