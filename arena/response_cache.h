// An append-only, on-disk cache of model and judge responses: JSONL, one
// {"key": <sha256 hex>, "value": <any JSON>} per line, flushed after each record, so an
// interrupted battle run resumes without paying for the calls it already made.
//
// The key is the sha256 of a canonical dump (keys sorted, no whitespace) of whatever
// identifies the call: {model, messages, sampling params} for a response, {judge,
// template, ...} for a judgment. A later record with the same key replaces an earlier one.
//
// Loading: a torn LAST line (the process died mid-write) is dropped with a warning and cut
// from the file, so the next record starts on a fresh line; a bad line anywhere else is
// an error naming file:line. All methods are thread-safe. One process per file: two
// processes appending to the same file at once may interleave records.
#pragma once

#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>

namespace fw::arena {

class ResponseCache {
 public:
  // Loads `path` if it exists (the file and its folder are created on the first put).
  explicit ResponseCache(std::string path);
  ~ResponseCache();
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;

  static std::string key(const nlohmann::json& identity);  // sha256 of the canonical dump

  std::optional<nlohmann::json> get(const std::string& key) const;
  // Appends {"key", "value"} and flushes (no fsync per record); throws fw::Error (Runtime)
  // naming the file if the write fails.
  void put(const std::string& key, const nlohmann::json& value);
  size_t size() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, nlohmann::json> entries_;
  std::FILE* file_ = nullptr;  // opened for appending on the first put
};

}  // namespace fw::arena
