// Console progress for a training loop (rank 0 only).
//
// On a terminal: one line redrawn in place with \r, at most every tty_interval_seconds:
//    120/1000  12% [##........] 01:23<09:50 1.45 step/s loss=1.234 lr=3.0e-05
// Elsewhere (a log file, CI): plain lines, the first and last step plus at most one line
// every interval_seconds:
//   step 120/1000 (12%) elapsed 01:23 eta 09:50 1.45 step/s loss=1.234 lr=3.0e-05
//
// Elapsed time and ETA count from this process's start_step, so a resumed run estimates
// from its own speed: eta = (total - step) * elapsed / (step - start_step). Slower than one
// step a second, the rate reads "2.50 s/step".
//
// On a terminal, call clear() before printing anything else (a log line, an eval summary,
// save_checkpoint's "saved ..." message), or that text lands at the end of the bar; the next
// update() redraws it below.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fw::trainer {

struct ProgressOptions {
  std::optional<bool> enabled;        // false prints nothing; default: fw::log::rank() == 0
  std::optional<bool> is_tty;         // default: isatty(fileno(out))
  double interval_seconds = 10.0;     // not a terminal: at most one line per interval
  double tty_interval_seconds = 0.1;  // terminal: at most one redraw per interval
  std::function<double()> clock;      // seconds, monotonic; default std::chrono::steady_clock
};

class Progress {
 public:
  // total_steps: the step the run ends at (<= 0: unknown, no percent or ETA).
  // start_step: the step this process starts from (0, or the resumed checkpoint's step).
  Progress(int64_t total_steps, int64_t start_step, std::FILE* out = stderr, ProgressOptions opts = {});
  ~Progress();  // ends a half-drawn terminal line with a newline
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Reports that `step` is done, with a few metrics to show.
  void update(int64_t step, const std::vector<std::pair<std::string, double>>& shown = {});
  // Prints the final state (unless that exact line was just printed) and ends the line.
  void finish();
  // Terminal only: erases the bar so another message can be printed on a clean line; the
  // next update() draws it again.
  void clear();

  // The text of one status line (no \r or newline), for tests and other front ends.
  std::string format_line(int64_t step, double now) const;

 private:
  void print(int64_t step, double now);

  int64_t total_;
  int64_t start_;
  std::FILE* out_;
  ProgressOptions opts_;
  bool enabled_ = true;
  bool tty_ = false;
  double t0_ = 0;
  int64_t last_step_;
  std::vector<std::pair<std::string, double>> shown_;
  bool printed_any_ = false;
  double last_print_time_ = 0;
  int64_t last_printed_step_ = -1;
  bool line_open_ = false;  // terminal: a bar is drawn without a newline after it
  bool finished_ = false;
};

// Compact number for the status line: "1.234", "0.5", "3.0e-05", "51200", "nan".
std::string format_metric(double v);
// "MM:SS", or "H:MM:SS" from one hour on (whole seconds, rounded down).
std::string format_duration(double seconds);

}  // namespace fw::trainer
