#include "arena/response_cache.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"

namespace fw::arena {
namespace fs = std::filesystem;

std::string ResponseCache::key(const nlohmann::json& identity) {
  // nlohmann::json keeps object keys sorted, so equal identities dump to equal bytes.
  return sha256_hex(identity.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

ResponseCache::ResponseCache(std::string path) : path_(std::move(path)) {
  if (!fs::exists(path_)) return;
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw_runtime("cannot open the response cache for reading", {.file = path_});
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t pos = 0, good_end = 0;  // good_end: bytes up to the end of the last good line
  long line = 0;
  while (pos < text.size()) {
    ++line;
    const size_t nl = text.find('\n', pos);
    const bool last = nl == std::string::npos || nl + 1 == text.size();
    const size_t end = nl == std::string::npos ? text.size() : nl;
    const std::string_view row(text.data() + pos, end - pos);
    const size_t next = nl == std::string::npos ? text.size() : nl + 1;
    if (row.find_first_not_of(" \t\r") == std::string_view::npos) {
      pos = good_end = next;
      continue;
    }
    nlohmann::json j;
    std::string problem;
    try {
      j = nlohmann::json::parse(row);
      if (!j.is_object() || !j.contains("key") || !j["key"].is_string() || !j.contains("value"))
        problem = "a cache record must be {\"key\": string, \"value\": ...}";
    } catch (const nlohmann::json::parse_error& e) {
      problem = std::string("invalid JSON: ") + e.what();
    }
    if (!problem.empty()) {
      // A record cut short by a crash can only be the last one.
      if (last) {
        log::warn(path_ + ":" + std::to_string(line) + ": ignoring a torn last record (" +
                  std::to_string(row.size()) + " bytes, an interrupted write)");
        in.close();
        fs::resize_file(path_, good_end);
        return;
      }
      throw_invalid("corrupt response cache: " + problem,
                    {.file = path_, .line = line, .hint = "remove or repair the line (the cache is only a cache)"});
    }
    entries_[j["key"].get<std::string>()] = std::move(j["value"]);
    pos = good_end = next;
  }
  if (!text.empty() && text.back() != '\n') {
    // A complete last record without its newline: add it before appending more.
    std::ofstream out(path_, std::ios::binary | std::ios::app);
    out << '\n';
    if (!out) throw_runtime("cannot append to the response cache", {.file = path_});
  }
}

ResponseCache::~ResponseCache() {
  if (file_) std::fclose(file_);
}

std::optional<nlohmann::json> ResponseCache::get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void ResponseCache::put(const std::string& key, const nlohmann::json& value) {
  std::string line = nlohmann::json{{"key", key}, {"value", value}}.dump(-1, ' ', false,
                                                                         nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(mutex_);
  if (!file_) {
    const fs::path parent = fs::path(path_).parent_path();
    if (!parent.empty()) fs::create_directories(parent);
    file_ = std::fopen(path_.c_str(), "ab");
    if (!file_) throw_runtime("cannot open the response cache for appending", {.file = path_});
  }
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw_runtime("writing to the response cache failed", {.file = path_});
  entries_[key] = value;
}

size_t ResponseCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

}  // namespace fw::arena
