#include "launch/line_prefixer.h"

namespace fw::launch {

LinePrefixer::LinePrefixer(std::string prefix, size_t max_line)
    : prefix_(std::move(prefix)), max_line_(max_line == 0 ? 1 : max_line) {}

void LinePrefixer::emit(std::string& out) {
  out += prefix_;
  out += pending_;
  out += '\n';
  pending_.clear();
}

std::string LinePrefixer::feed(std::string_view chunk) {
  std::string out;
  for (char c : chunk) {
    if (c == '\n') {
      if (!soft_end_) emit(out);  // "\r\n" was already ended by the "\r"
      soft_end_ = false;
    } else if (c == '\r') {
      if (!pending_.empty()) {  // a "\r" at the start of a line changes nothing
        emit(out);
        soft_end_ = true;
      }
    } else {
      soft_end_ = false;
      pending_ += c;
      if (pending_.size() >= max_line_) {
        emit(out);
        soft_end_ = true;
      }
    }
  }
  return out;
}

std::string LinePrefixer::finish() {
  std::string out;
  if (!pending_.empty()) emit(out);
  soft_end_ = false;
  return out;
}

std::string rank_prefix(int rank) { return "[rank" + std::to_string(rank) + "]: "; }

}  // namespace fw::launch
