// migclock-timeprobe: the demo's independent judge of a guest's wall clock.
// Talks to the guest's own time-probe port (never the guest agent), prints
// JSON, and turns a run's events into the report (see --help).
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "migclock/common/parse_int.hpp"
#include "migclock/net/json.hpp"
#include "migclock/timeprobe/channel.hpp"
#include "migclock/timeprobe/estimate.hpp"
#include "migclock/timeprobe/report.hpp"

using namespace migclock;
using namespace migclock::timeprobe;

namespace {

const char kUsage[] =
    "usage:\n"
    "  migclock-timeprobe measure --socket PATH [--exchanges N] [--keep K] [--wait-ms MS]\n"
    "      one estimate of guest - host: N exchanges (16), the K (4) lowest-RTT kept\n"
    "  migclock-timeprobe watch --socket PATH (--resume-ns T | --await-resume first|gap)\n"
    "                           [--seconds S] [--interval-ms MS] [--gap-ms G] [--wait-ms MS]\n"
    "      after an event that ended (resumed) at host time T: a point every MS (20) ms\n"
    "      for S (2.5) s, each the lowest-RTT of 3 exchanges, then a final estimate;\n"
    "      the times from T until the guest stayed within 1 ms and within 100 us.\n"
    "      --await-resume: started before the event, T is when the guest answered again:\n"
    "      its first reply at all (first: a migration's destination) or its first after\n"
    "      a silence of G (1000) ms (gap: a suspend); waits up to --wait-ms (120000)\n"
    "  migclock-timeprobe report --events FILE --out DIR\n"
    "      FILE: one JSON line per event {arm, event, index, before: <measure>, watch: <watch>};\n"
    "      writes DIR/report.json and DIR/clock.dat (first migration per arm), prints the table\n"
    "PATH: the unix socket of the guest's org.migclock.timeprobe.0 channel.\n"
    "Exit: 0 ok, 1 the probe failed, 2 bad arguments.\n";

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "migclock-timeprobe: %s\n%s", what.c_str(), kUsage);
  std::exit(2);
}

struct Args {
  std::vector<std::string> v;
  std::size_t i = 0;
  std::string next(const std::string& flag) {
    if (i + 1 >= v.size()) usage_error(flag + " needs a value");
    return v[++i];
  }
  int64_t next_int(const std::string& flag, int64_t min, int64_t max) {
    const std::string s = next(flag);
    const auto x = parse_int(s, min, max);
    if (!x)
      usage_error(flag + ": '" + s + "' is not an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return *x;
  }
  double next_double(const std::string& flag, double min, double max) {
    const std::string s = next(flag);
    char* end = nullptr;
    const double x = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || *end || !(x >= min && x <= max)) usage_error(flag + ": '" + s + "' is out of range");
    return x;
  }
};

double us(int64_t ns) { return std::round(static_cast<double>(ns) / 100.0) / 10.0; }

void write_estimate(net::JsonWriter& w, const Estimate& e) {
  w.begin_object();
  w.key("offset_us").value(us(e.offset_ns));
  w.key("uncertainty_us").value(us(e.uncertainty_ns));
  w.key("min_rtt_us").value(us(e.min_rtt_ns));
  w.key("asymmetry_us").value(us(e.asymmetry_ns));
  w.key("scatter_us").value(us(e.scatter_ns));
  w.key("used").value(static_cast<int64_t>(e.used));
  w.key("total").value(static_cast<int64_t>(e.total));
  w.key("host_ns").value(e.host_ns);
  w.end_object();
}

Result<ProbeChannel> open_probe(const std::string& socket, int64_t wait_ms) {
  if (socket.empty()) usage_error("--socket is required");
  return ProbeChannel::connect(socket, std::chrono::milliseconds(wait_ms));
}

int fail(const Error& e) {
  std::fprintf(stderr, "migclock-timeprobe: %s\n", e.message().c_str());
  return 1;
}

int cmd_measure(Args& a) {
  std::string socket;
  int64_t n = 16, keep = 4, wait_ms = 5000;
  for (++a.i; a.i < a.v.size(); ++a.i) {
    const std::string& f = a.v[a.i];
    if (f == "--socket") socket = a.next(f);
    else if (f == "--exchanges") n = a.next_int(f, 1, 10000);
    else if (f == "--keep") keep = a.next_int(f, 1, 10000);
    else if (f == "--wait-ms") wait_ms = a.next_int(f, 0, 600000);
    else usage_error("measure: unknown argument " + f);
  }
  auto ch = open_probe(socket, wait_ms);
  if (!ch) return fail(ch.error());
  int lost = 0;
  auto e = estimate(ch->burst(static_cast<int>(n), std::chrono::milliseconds(500), &lost), static_cast<std::size_t>(keep));
  if (!e) return fail(make_error(errc::timeout, "time probe at " + socket + ": no exchange answered"));
  net::JsonWriter w;
  write_estimate(w, *e);
  std::printf("%s\n", w.str().c_str());
  return 0;
}

int cmd_watch(Args& a) {
  std::string socket;
  int64_t resume_ns = 0, interval_ms = 20, wait_ms = 120000, gap_ms = 1000;
  double seconds = 2.5;
  std::string await;
  for (++a.i; a.i < a.v.size(); ++a.i) {
    const std::string& f = a.v[a.i];
    if (f == "--socket") socket = a.next(f);
    else if (f == "--resume-ns") resume_ns = a.next_int(f, 1, INT64_MAX);
    else if (f == "--seconds") seconds = a.next_double(f, 0.1, 600);
    else if (f == "--interval-ms") interval_ms = a.next_int(f, 1, 10000);
    else if (f == "--wait-ms") wait_ms = a.next_int(f, 0, 600000);
    else if (f == "--gap-ms") gap_ms = a.next_int(f, 1, 600000);
    else if (f == "--await-resume") await = a.next(f);
    else usage_error("watch: unknown argument " + f);
  }
  if ((resume_ns == 0) == await.empty()) usage_error("watch: exactly one of --resume-ns and --await-resume");
  if (!await.empty() && await != "first" && await != "gap") usage_error("watch: --await-resume first|gap");
  const int64_t give_up = realtime_ns() + wait_ms * 1'000'000;
  auto ch = open_probe(socket, wait_ms);
  if (!ch) return fail(ch.error());
  if (resume_ns == 0) {
    // Ask every 20 ms; a paused guest leaves requests unanswered, and answers
    // them all when it runs: the first reply after the silence is the resume
    // as the guest lived it (upper bound: it arrived after the guest ran).
    // gap: counting from the connection too, so an event that began before
    // the first reply is still seen.
    int64_t prev = await == "gap" ? realtime_ns() : 0;
    while (resume_ns == 0) {
      auto x = ch->exchange(std::chrono::milliseconds(20));
      if (!x && x.error().code != make_error_code(errc::timeout)) return fail(x.error());
      const int64_t r = ch->last_reply_ns();
      if (r != 0 && r > prev) {
        if ((await == "first" && prev == 0) || (prev != 0 && r - prev >= gap_ms * 1'000'000)) resume_ns = r;
        prev = r;
      }
      if (resume_ns == 0 && realtime_ns() > give_up)
        return fail(make_error(errc::timeout, "time probe at " + socket + ": the guest did not resume"));
    }
  }
  const int64_t end_ns = resume_ns + static_cast<int64_t>(seconds * 1e9);
  std::vector<TimedOffset> points;
  int lost = 0;
  for (int64_t next = realtime_ns(); next < end_ns; next += interval_ms * 1'000'000) {
    // One point: the lowest-RTT of 3 back-to-back exchanges (a lone
    // exchange can catch a scheduling hiccup of the TCG vCPU thread).
    auto e = estimate(ch->burst(3, std::chrono::milliseconds(200), &lost), 1);
    if (e) points.push_back({e->host_ns - resume_ns, e->offset_ns, e->uncertainty_ns});
    const int64_t now = realtime_ns();
    if (next + interval_ms * 1'000'000 > now)
      std::this_thread::sleep_for(std::chrono::nanoseconds(next + interval_ms * 1'000'000 - now));
  }
  auto fin = estimate(ch->burst(16, std::chrono::milliseconds(500), &lost), 4);
  if (!fin) return fail(make_error(errc::timeout, "time probe at " + socket + ": no final exchange answered"));
  net::JsonWriter w;
  w.begin_object();
  w.key("resume_ns").value(resume_ns);
  w.key("watch_ms").value(std::round(seconds * 1000));
  w.key("lost").value(lost);
  w.key("final");
  write_estimate(w, *fin);
  auto ms = [](const std::optional<int64_t>& ns) -> std::optional<int64_t> {
    if (!ns) return std::nullopt;
    return (*ns + 500'000) / 1'000'000;
  };
  w.key("to_1ms_ms").optional(ms(time_to_within(points, 1'000'000)));
  w.key("to_100us_ms").optional(ms(time_to_within(points, 100'000)));
  w.key("points").begin_array();
  for (const auto& p : points) {
    w.begin_array().value(std::round(static_cast<double>(p.since_resume_ns) / 1e4) / 100.0).value(us(p.offset_ns));
    w.value(us(p.uncertainty_ns)).end_array();
  }
  w.end_array();
  w.end_object();
  std::printf("%s\n", w.str().c_str());
  return 0;
}

int cmd_report(Args& a) {
  std::string events_file, out;
  for (++a.i; a.i < a.v.size(); ++a.i) {
    const std::string& f = a.v[a.i];
    if (f == "--events") events_file = a.next(f);
    else if (f == "--out") out = a.next(f);
    else usage_error("report: unknown argument " + f);
  }
  if (events_file.empty() || out.empty()) usage_error("report: --events and --out are required");
  std::ifstream in(events_file);
  if (!in) return fail(errno_error(errno, "open " + events_file));
  std::vector<EventResult> events;
  std::string line;
  for (int no = 1; std::getline(in, line); ++no) {
    if (line.empty()) continue;
    auto e = parse_event(line);
    if (!e) return fail(Error{e.error().code, events_file + ":" + std::to_string(no) + ": " + e.error().context});
    events.push_back(*e);
  }
  if (events.empty()) return fail(make_error(errc::not_found, events_file + ": no events"));
  const auto cells = aggregate(events);
  std::ofstream(out + "/report.json") << report_json(cells, events) << "\n";
  std::vector<std::string> arms;
  std::ofstream(out + "/clock.dat") << plot_data(events, "migration", &arms);
  std::fputs(table(cells).c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a socket QEMU closed is an error to report, not a death
  Args a{std::vector<std::string>(argv + 1, argv + argc)};
  if (a.v.empty()) usage_error("a verb is required");
  const std::string verb = a.v[0];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (verb == "measure") return cmd_measure(a);
  if (verb == "watch") return cmd_watch(a);
  if (verb == "report") return cmd_report(a);
  usage_error("unknown verb " + verb);
}
