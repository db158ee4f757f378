// A generation's text sent as it grows (server-sent events): the deltas, concatenated,
// equal the final text exactly. A delta never ends inside a UTF-8 character, nor on a
// replacement character that the next token may still complete, nor on text that may be
// the start of a stop string (the final text ends before a stop string, as OpenAI's).
#pragma once

#include <string>
#include <vector>

namespace fw::rollout {

// The text a finished generation returns: `text` cut before the first occurrence of any
// stop string.
std::string cut_at_stop(std::string text, const std::vector<std::string>& stop);

// How many bytes at the start of `text` are whole characters: an incomplete UTF-8
// sequence at the end, or trailing U+FFFDs (a decoder's stand-ins for bytes still to
// come), are left out.
size_t complete_utf8_prefix(const std::string& text);

class TextStream {
 public:
  explicit TextStream(std::vector<std::string> stop = {}) : stop_(std::move(stop)) {}

  // `text`: the whole decoded generation so far. Returns what may be sent now ("" if
  // nothing new is safe yet).
  std::string push(const std::string& text);
  // `final_text`: the finished response (cut_at_stop of the decoded generation). Returns
  // the rest of it.
  std::string finish(const std::string& final_text);
  const std::string& sent() const { return sent_; }

 private:
  std::string advance_to(const std::string& safe);
  std::vector<std::string> stop_;
  std::string sent_;
};

}  // namespace fw::rollout
