// A JSONL filter for the commands that turn one record into another (tokenize, template):
// each non-blank line of a file (or stdin) is parsed, keeping its keys' order, and `fn`'s
// record is written as one line to stdout. A line that is not JSON, or whose record `fn`
// refuses with fw::Error, gets {"error": ...} in its place and a message naming the file
// and line on stderr; the other lines are still done. Returns how many lines failed.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace fw::apps {

int filter_jsonl(const std::string& file,  // "" = standard input
                 const std::function<nlohmann::ordered_json(const nlohmann::ordered_json&)>& fn);

}  // namespace fw::apps
