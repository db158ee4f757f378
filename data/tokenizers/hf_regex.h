// A compiled PCRE2 pattern (UTF + Unicode properties, JIT when available) for the
// tokenizer.json pre-tokenizers and normalizers. Matching is bounded: a pattern that
// backtracks past PCRE2's match limit raises fw::Error instead of running for ever.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fw::data::hf {

class Regex {
 public:
  // Throws fw::Error (InvalidInput) naming `file` and `key` when the pattern does not compile.
  Regex(const std::string& pattern, const std::string& file, const std::string& key);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // The non-overlapping matches in `text`, left to right, as byte ranges (as onig's
  // find_iter: after an empty match the search moves on by one character).
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }

  // The pattern that matches `literal` and nothing else.
  static std::string escape(std::string_view literal);

 private:
  std::string pattern_, file_, key_;
  void* code_ = nullptr;  // pcre2_code_8
  bool jit_ = false;
};

}  // namespace fw::data::hf
