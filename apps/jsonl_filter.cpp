#include "apps/jsonl_filter.h"

#include <cstdio>
#include <fstream>
#include <iostream>

#include "core/error.h"

namespace fw::apps {

std::string json_line(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int filter_jsonl(const std::string& file, const std::function<std::string(const nlohmann::ordered_json&)>& fn) {
  std::ifstream in;
  if (!file.empty()) {
    in.open(file, std::ios::binary);
    if (!in) throw_invalid("cannot open the file", {.file = file});
  }
  std::istream& lines = file.empty() ? std::cin : in;
  const std::string name = file.empty() ? "<stdin>" : file;
  int failed = 0;
  std::string line;
  for (long number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::ordered_json in;
    std::string error, out;
    bool bad = false;
    try {
      in = nlohmann::ordered_json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      bad = true;
      error = std::string("not valid JSON: ") + e.what();
    }
    if (!bad) {
      try {
        out = fn(in);
      } catch (const std::exception& e) {  // fw::Error, and a record of the wrong shape
        bad = true;
        error = e.what();
      }
    }
    if (bad) {
      ++failed;
      std::fprintf(stderr, "%s:%ld: %s\n", name.c_str(), number, error.c_str());
      out = json_line({{"error", error}});
    }
    out += '\n';
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  std::fflush(stdout);
  return failed;
}

}  // namespace fw::apps
