// JSONL lines with their text (see jsonl_lines.h).
#include "arena/jsonl_lines.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace fw::arena {

std::vector<JsonlLine> read_jsonl_lines(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw_invalid("file not found", {.file = path});
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_runtime("cannot open file", {.file = path});
  std::vector<JsonlLine> out;
  std::string text;
  long line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    JsonlLine l;
    l.line = line;
    try {
      l.json = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      throw_invalid(std::string("not valid JSON: ") + e.what(), {.file = path, .line = line});
    }
    l.text = std::move(text);
    out.push_back(std::move(l));
  }
  if (in.bad()) throw_runtime("read error", {.file = path});
  return out;
}

}  // namespace fw::arena
