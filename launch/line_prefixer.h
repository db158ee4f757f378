// LinePrefixer: turns one rank's raw output stream into whole lines that start with a
// prefix ("[rank1]: "), so the lines of several ranks can be interleaved without mixing.
// Pure: bytes in, text out; the launcher writes the text to its own stdout or stderr.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fw::launch {

class LinePrefixer {
 public:
  // `max_line`: a line longer than this is emitted in pieces of this size, so a rank that
  // never writes a newline cannot grow the buffer without bound.
  explicit LinePrefixer(std::string prefix, size_t max_line = 64 * 1024);

  // Appends `chunk` and returns every line it completed, each as prefix + text + "\n".
  // "\n", "\r" and "\r\n" all end a line, so carriage-return progress bars become one
  // line per redraw instead of garbling the other ranks' lines. A "\r" at the start of a
  // line ends nothing (no empty line per redraw); a "\n" there keeps the blank line.
  std::string feed(std::string_view chunk);

  // The partial last line (prefix + text + "\n"), or "" if there is none. Call at EOF.
  std::string finish();

  bool has_partial() const { return !pending_.empty(); }

 private:
  void emit(std::string& out);

  std::string prefix_;
  size_t max_line_;
  std::string pending_;   // the current line so far, without the prefix
  bool soft_end_ = false;  // the last byte ended a line without "\n" ("\r", or a split), so a "\n" now ends nothing
};

// "[rank<rank>]: ", the prefix the launcher gives each rank's lines.
std::string rank_prefix(int rank);

}  // namespace fw::launch
