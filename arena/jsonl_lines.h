// JSONL read line by line with each line's text kept as it was, for the tools that copy
// records through unchanged (the test-set builder keeps the records' fields and key
// order; decontamination writes the kept training lines byte for byte).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fw::arena {

struct JsonlLine {
  long line = 0;                // 1-based line number in the file
  std::string text;             // the line as read (no newline)
  nlohmann::ordered_json json;  // parsed, keys in file order
};

// Every non-blank line of the file. Throws fw::Error (InvalidInput) naming file:line for a
// line that is not JSON, (InvalidInput) naming the file when it does not exist.
std::vector<JsonlLine> read_jsonl_lines(const std::string& path);

}  // namespace fw::arena
