// A JSONL filter for the commands that turn one record into another (tokenize, template):
// each non-blank line of a file (or stdin) is parsed, keeping its keys' order, and `fn`'s
// line (one serialized JSON value) is written to stdout. A line that is not JSON, or whose record `fn`
// refuses with fw::Error, gets {"error": ...} in its place and a message naming the file
// and line on stderr; the other lines are still done. Returns how many lines failed.
#pragma once

#include <charconv>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fw::apps {

int filter_jsonl(const std::string& file,  // "" = standard input
                 const std::function<std::string(const nlohmann::ordered_json&)>& fn);

// `j` as one line of JSON (invalid UTF-8 replaced by U+FFFD), as filter_jsonl writes it.
std::string json_line(const nlohmann::ordered_json& j);
// Appends `v` as a JSON array of integers ([1,2,3]).
template <class Int>
void append_int_array(std::string& out, const std::vector<Int>& v) {
  out += '[';
  char buf[24];
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v[i]));
    out.append(buf, r.ptr);
  }
  out += ']';
}

}  // namespace fw::apps
