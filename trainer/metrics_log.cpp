#include "trainer/metrics_log.h"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"

namespace fw::trainer {

size_t truncate_metrics_file(const std::string& path, int64_t max_step) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return 0;
  const std::string text = read_text_file(path);
  std::string kept_text;
  size_t kept = 0, dropped_after = 0;
  long line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    const bool has_newline = end != std::string::npos;
    if (!has_newline) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = has_newline ? end + 1 : end;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const bool last = pos >= text.size();

    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number_integer()) {
      // The last line may be torn by a crash mid-write: expected, dropped silently.
      if (!last)
        log::warn(path + ":" + std::to_string(line_no) +
                  ": not a complete metrics record; dropping it while resuming");
      continue;
    }
    if (j["step"].get<int64_t>() > max_step) {
      ++dropped_after;
      continue;
    }
    kept_text += line;
    kept_text += '\n';
    ++kept;
  }
  if (kept_text != text) write_file_atomic(path, kept_text);
  if (dropped_after > 0)
    log::info(path + ": dropped " + std::to_string(dropped_after) + " records after step " +
              std::to_string(max_step) + " (resuming from there)");
  return kept;
}

MetricsLog::MetricsLog(std::string path, std::optional<int64_t> resume_from_step, std::optional<bool> enabled)
    : path_(std::move(path)) {
  if (!(enabled ? *enabled : log::rank() == 0)) return;
  if (resume_from_step) {
    truncate_metrics_file(path_, *resume_from_step);
    writer_ = std::make_unique<JsonlWriter>(path_, /*append=*/true);
  } else {
    writer_ = std::make_unique<JsonlWriter>(path_, /*append=*/false);
  }
}

MetricsLog::~MetricsLog() = default;

void MetricsLog::log(int64_t step, const Metrics& metrics) {
  if (!writer_) return;
  nlohmann::ordered_json rec;
  rec["step"] = step;
  std::set<std::string_view> seen;
  for (const auto& [name, value] : metrics) {
    if (name == "step" || !seen.insert(name).second)
      throw_invalid("metric '" + name + "' " + (name == "step" ? "is reserved" : "is logged twice in one record"),
                    {.file = path_, .key = name});
    if (const double* d = std::get_if<double>(&value)) {
      if (std::isnan(*d))
        rec[name] = "NaN";
      else if (std::isinf(*d))
        rec[name] = *d > 0 ? "Infinity" : "-Infinity";
      else
        rec[name] = *d;
    } else {
      rec[name] = std::get<int64_t>(value);
    }
  }
  writer_->write(rec);
}

}  // namespace fw::trainer
