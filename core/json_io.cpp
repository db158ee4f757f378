#include "core/json_io.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"

namespace fw {
namespace {

// nlohmann reports a byte offset; turn it into line and column of `text`.
void offset_to_line_col(const std::string& text, size_t offset, long& line, long& col) {
  line = 1;
  col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
}

}  // namespace

size_t repair_jsonl_tail(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return 0;
  const std::string text = read_text_file(path);
  size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == ' ' || text[end - 1] == '\r')) --end;
  if (end == 0) return 0;
  const size_t start = text.rfind('\n', end - 1) == std::string::npos ? 0 : text.rfind('\n', end - 1) + 1;
  if (!nlohmann::json::accept(std::string_view(text).substr(start, end - start))) {
    std::filesystem::resize_file(path, start);
    return text.size() - start;
  }
  if (text.back() != '\n') {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << '\n';
    if (!out) throw_runtime("cannot append to file", {.file = path});
  }
  return 0;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_runtime("cannot open file", {.file = path});
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw_runtime("error while reading file", {.file = path});
  return ss.str();
}

nlohmann::json read_json_file(const std::string& path) {
  std::string text = read_text_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    long line = 0, col = 0;
    offset_to_line_col(text, e.byte > 0 ? e.byte - 1 : 0, line, col);
    throw_invalid(std::string("invalid JSON: ") + e.what(),
                  {.file = path, .line = line, .column = col});
  } catch (const nlohmann::json::exception& e) {  // e.g. a number too large for a double
    throw_invalid(std::string("invalid JSON: ") + e.what(), {.file = path});
  }
}

namespace {

template <class Json>
void read_jsonl(const std::string& path, const std::function<void(const Json&, long line)>& fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    // A data file named by the user that is not there is bad input (exit 2), not a failure.
    if (!std::filesystem::exists(path, ec)) throw_invalid("no such file", {.file = path});
    throw_runtime("cannot open file", {.file = path});
  }
  std::string text;
  long line_no = 0;
  while (std::getline(in, text)) {
    ++line_no;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    Json value;
    try {
      value = Json::parse(text);
    } catch (const nlohmann::json::exception& e) {  // a syntax error, or a number too large for a double
      throw_invalid(std::string("invalid JSON line: ") + e.what(),
                    {.file = path, .line = line_no,
                     .hint = "each line of a JSONL file must be one complete JSON value"});
    }
    try {
      fn(value, line_no);
    } catch (const Error& e) {
      if (!e.context().file.empty()) throw;
      ErrorContext ctx = e.context();
      ctx.file = path;
      ctx.line = line_no;
      throw Error(e.kind(), e.message(), ctx);
    } catch (const nlohmann::json::exception& e) {
      throw_invalid(std::string("unexpected JSON content: ") + e.what(),
                    {.file = path, .line = line_no});
    }
  }
  if (in.bad()) throw_runtime("error while reading file", {.file = path});
}

}  // namespace

void for_each_jsonl(const std::string& path,
                    const std::function<void(const nlohmann::json&, long line)>& fn) {
  read_jsonl(path, fn);
}

void for_each_jsonl_ordered(const std::string& path,
                            const std::function<void(const nlohmann::ordered_json&, long line)>& fn) {
  read_jsonl(path, fn);
}

JsonlWriter::JsonlWriter(const std::string& path, bool append) : path_(path) {
  file_ = std::fopen(path.c_str(), append ? "ab" : "wb");
  if (!file_) throw_runtime("cannot open for writing", {.file = path});
}

JsonlWriter::~JsonlWriter() {
  if (file_) std::fclose(file_);
}

void JsonlWriter::write(const nlohmann::json& record) {
  write_line(record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void JsonlWriter::write(const nlohmann::ordered_json& record) {
  write_line(record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void JsonlWriter::write_line(std::string line) {
  line.push_back('\n');
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw_runtime("write failed", {.file = path_});
}

}  // namespace fw
