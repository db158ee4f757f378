// Added tokens of a tokenizer.json (special or not, with single_word / lstrip / rstrip /
// normalized): matched in the text before the normalizer (normalized = false) or right
// after it (normalized = true), leftmost-longest, and never split by the model.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizers/hf_components.h"

namespace fw::data::hf {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
  std::string decoded;  // what decode() shows: the normalized content when normalized
};

class AddedVocab {
 public:
  // The "added_tokens" array; `normalizer` (may be null) gives normalized tokens their pattern.
  void load(const json& arr, const Where& w, const Normalizer* normalizer);
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  // The text cut at added tokens, the other pieces normalized.
  PreTokenized extract_and_normalize(std::string_view text, const Normalizer* normalizer) const;

  // The same cut as byte ranges of `text`, for text the normalizer leaves as it is:
  // `token` indexes tokens() for an added token (its range includes what lstrip/rstrip
  // took), -1 for text between them. Empty pieces are left out.
  struct Piece {
    int32_t token;
    size_t begin, end;
  };
  std::vector<Piece> cut(std::string_view text) const;

 private:
  struct Trie {
    struct Node {
      std::vector<std::pair<unsigned char, uint32_t>> kids;
      int32_t token = -1;  // index into tokens_
    };
    std::vector<Node> nodes{Node{}};
    std::array<bool, 256> first{};  // the bytes a pattern starts with (most text skips the walk)
    void insert(std::string_view s, int32_t token);
    // Longest pattern starting at text[i]: (token index, length), or (-1, 0).
    std::pair<int32_t, size_t> longest_at(std::string_view text, size_t i) const;
    bool empty() const { return nodes.size() == 1; }
  };
  void split_with(const Trie& trie, PreTokenized& p) const;
  // One trie's leftmost-longest matches in `text` with the tokens' flags applied, and the
  // text between them, at `base` + their offsets. False when the trie matched nothing.
  bool pieces_of(const Trie& trie, std::string_view text, size_t base, std::vector<Piece>& out) const;

  std::vector<AddedToken> tokens_;
  Trie raw_, normalized_;
};

}  // namespace fw::data::hf
