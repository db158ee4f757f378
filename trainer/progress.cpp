#include "trainer/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/log.h"

namespace fw::trainer {

std::string format_metric(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return "0";
  char buf[64];
  const double a = std::fabs(v);
  if (a < 1e-3)
    std::snprintf(buf, sizeof buf, "%.1e", v);
  else if (a >= 1e4)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long long s = static_cast<long long>(std::floor(seconds));  // whole seconds, like tqdm
  char buf[64];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", s / 60, s % 60);
  return buf;
}

Progress::Progress(int64_t total_steps, int64_t start_step, std::FILE* out, ProgressOptions opts)
    : total_(total_steps), start_(start_step), out_(out), opts_(std::move(opts)), last_step_(start_step) {
  if (!opts_.clock) {
    opts_.clock = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    };
  }
  tty_ = opts_.is_tty ? *opts_.is_tty : (out_ && ::isatty(::fileno(out_)) == 1);
  enabled_ = out_ != nullptr && (opts_.enabled ? *opts_.enabled : log::rank() == 0);
  t0_ = opts_.clock();
}

Progress::~Progress() {
  if (enabled_ && tty_ && line_open_) {
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

std::string Progress::format_line(int64_t step, double now) const {
  const double elapsed = std::max(0.0, now - t0_);
  const int64_t done = step - start_;
  const double rate = done > 0 && elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;  // steps/s
  const bool known_total = total_ > 0;
  const double frac = known_total ? std::clamp(static_cast<double>(step) / static_cast<double>(total_), 0.0, 1.0) : 0;
  std::string eta = "?";
  if (known_total && step >= total_)
    eta = format_duration(0);
  else if (known_total && rate > 0)
    eta = format_duration(static_cast<double>(total_ - step) / rate);

  std::string speed = "? step/s";
  char buf[64];
  if (rate >= 1) {
    std::snprintf(buf, sizeof buf, "%.2f step/s", rate);
    speed = buf;
  } else if (rate > 0) {
    std::snprintf(buf, sizeof buf, "%.2f s/step", 1.0 / rate);
    speed = buf;
  }

  std::string line;
  if (tty_) {
    if (known_total) {
      std::snprintf(buf, sizeof buf, "%lld/%lld %3d%% ", static_cast<long long>(step),
                    static_cast<long long>(total_), static_cast<int>(std::floor(frac * 100)));
      line = buf;
      const int width = 20, filled = static_cast<int>(std::floor(frac * width));
      line += "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
    } else {
      line = std::to_string(step) + " ";
    }
    line += format_duration(elapsed) + "<" + eta + " " + speed;
  } else {
    line = "step " + std::to_string(step);
    if (known_total) {
      std::snprintf(buf, sizeof buf, "/%lld (%d%%)", static_cast<long long>(total_),
                    static_cast<int>(std::floor(frac * 100)));
      line += buf;
    }
    line += " elapsed " + format_duration(elapsed) + " eta " + eta + " " + speed;
  }
  for (const auto& [name, value] : shown_) line += " " + name + "=" + format_metric(value);
  return line;
}

void Progress::print(int64_t step, double now) {
  const std::string line = format_line(step, now);
  if (tty_) {
    // \r back to the start, the line, then erase whatever a longer previous line left.
    std::fprintf(out_, "\r%s\x1b[K", line.c_str());
    line_open_ = true;
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
  printed_any_ = true;
  last_print_time_ = now;
  last_printed_step_ = step;
}

void Progress::update(int64_t step, const std::vector<std::pair<std::string, double>>& shown) {
  if (!enabled_ || finished_) return;
  last_step_ = step;
  shown_ = shown;
  const double now = opts_.clock();
  const double interval = tty_ ? opts_.tty_interval_seconds : opts_.interval_seconds;
  const bool last = total_ > 0 && step >= total_;
  if (!printed_any_ || last || (tty_ && !line_open_) || now - last_print_time_ >= interval)
    print(step, now);
}

void Progress::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  if (!printed_any_ || last_printed_step_ != last_step_ || tty_) print(last_step_, opts_.clock());
  if (tty_) {
    std::fputc('\n', out_);
    std::fflush(out_);
    line_open_ = false;
  }
}

void Progress::clear() {
  if (!enabled_ || !tty_ || !line_open_) return;
  std::fputs("\r\x1b[K", out_);
  std::fflush(out_);
  line_open_ = false;
}

}  // namespace fw::trainer
