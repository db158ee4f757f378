// JSON and JSONL files through nlohmann-json, with errors that name file and line.
#pragma once

#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace fw {

// Parses a whole JSON file. Throws fw::Error (InvalidInput) naming the file and the
// line/column of a syntax error; (Runtime) if the file cannot be read.
nlohmann::json read_json_file(const std::string& path);

// Calls `fn(object, line_number)` for each non-blank line of a JSONL file, in order.
// A missing file throws fw::Error (InvalidInput: "no such file"), one that cannot be read
// (Runtime); a line that is not valid JSON throws fw::Error naming file:line. The callback may
// throw fw::Error itself; if it leaves the file/line empty they are filled in.
void for_each_jsonl(const std::string& path,
                    const std::function<void(const nlohmann::json&, long line)>& fn);

// The same, with each object's keys in the order the line gives them. Records whose JSON
// reaches a chat template (messages, tool calls, tool definitions) are read this way:
// transformers' tojson keeps the order the user wrote, so must we.
void for_each_jsonl_ordered(const std::string& path,
                            const std::function<void(const nlohmann::ordered_json&, long line)>& fn);

// Makes an append-only JSONL file safe to append to after a crash: a last line that is
// not valid JSON (cut short mid-write) is cut from the file, and a complete last record
// missing its newline gets one. Returns the number of bytes dropped (0 if none). A
// missing file is fine (0). Bad lines elsewhere are left for the reader to report.
size_t repair_jsonl_tail(const std::string& path);

// Reads the whole file as bytes; throws fw::Error (Runtime) naming the file on failure.
std::string read_text_file(const std::string& path);

// One JSON value per line, flushed after each record (records survive a crash).
class JsonlWriter {
 public:
  explicit JsonlWriter(const std::string& path, bool append = false);
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;
  void write(const nlohmann::json& record);
  void write(const nlohmann::ordered_json& record);  // keeps the keys in insertion order

 private:
  void write_line(std::string line);
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace fw
