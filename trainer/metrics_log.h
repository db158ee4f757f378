// metrics.jsonl: one JSON object per logged step, written by rank 0 and flushed per line.
//
//   {"step": 20, "loss": 1.2345, "lr": 3e-05, "grad_norm": 0.91, "tokens_per_second": 5120}
//
// Keys keep the order they were logged in, "step" first. Values are numbers (double or
// int64). Non-finite doubles are written as the strings "NaN", "Infinity" and "-Infinity"
// (JSON has no such numbers; Python's float() reads these strings back, and a diverging
// loss stays visible instead of turning into an anonymous null).
//
// Resuming from step S first rewrites the file (atomically) keeping only the lines with
// step <= S, so the resumed run appends after them and the file never holds a step twice.
// A torn last line (a crash mid-write) is dropped silently; any other unreadable line is
// dropped with a warning. Without a resume step the file is started afresh.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace fw {
class JsonlWriter;
}

namespace fw::trainer {

using MetricValue = std::variant<double, int64_t>;
using Metrics = std::vector<std::pair<std::string, MetricValue>>;

class MetricsLog {
 public:
  // path: the metrics.jsonl file (its folder must exist). resume_from_step: the step of the
  // checkpoint being resumed, or nullopt for a fresh run. enabled: default fw::log::rank() == 0;
  // a disabled log touches no file and log() does nothing.
  MetricsLog(std::string path, std::optional<int64_t> resume_from_step,
             std::optional<bool> enabled = std::nullopt);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  // Appends {"step": step, <metrics in order>} and flushes it. Throws fw::Error
  // (InvalidInput) for a metric named "step" or a name given twice.
  void log(int64_t step, const Metrics& metrics);

  bool enabled() const { return writer_ != nullptr; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<JsonlWriter> writer_;
};

// Rewrites `path` (atomically) keeping only complete lines whose "step" <= max_step.
// Returns the number of lines kept. A missing file is left missing (returns 0).
size_t truncate_metrics_file(const std::string& path, int64_t max_step);

}  // namespace fw::trainer
