// WordPiece (greedy longest match first, BERT) and WordLevel (whole words) models.
#include "core/error.h"
#include "data/tokenizers/hf_components.h"

namespace fw::data::hf {
namespace {

class WordPiece final : public Model {
 public:
  WordPiece(const json& j, const Where& w)
      : unk_(get_string(j, "unk_token", "[UNK]", w)),
        prefix_(get_string(j, "continuing_subword_prefix", "##", w)),
        max_chars_(static_cast<size_t>(std::max<int64_t>(0, get_int(j, "max_input_chars_per_word", 100, w)))) {
    set_vocab(read_vocab_object(j, w), w.at("vocab"));
    unk_id_ = find_id(vocab_, unk_);
  }

  void tokenize(std::string_view word, std::vector<Token>& out) const override {
    if (count_chars(word) > max_chars_) return push_unk(word, out);
    const size_t first = out.size();
    std::string sub;
    size_t start = 0;
    while (start < word.size()) {
      size_t end = word.size();
      int32_t found = -1;
      while (start < end) {
        sub.clear();
        if (start > 0) sub += prefix_;
        sub.append(word.substr(start, end - start));
        found = find_id(vocab_, sub);
        if (found >= 0) break;
        size_t b = end - 1;
        while (b > start && (static_cast<unsigned char>(word[b]) & 0xC0) == 0x80) --b;
        end = b;
      }
      if (found < 0) {
        out.resize(first);
        return push_unk(word, out);
      }
      out.push_back({found, sub, static_cast<uint32_t>(start), static_cast<uint32_t>(end)});
      start = end;
    }
  }

 private:
  void push_unk(std::string_view word, std::vector<Token>& out) const {
    if (unk_id_ < 0)
      throw_invalid("the unknown token \"" + unk_ + "\" is not in the vocabulary", {.key = "model.unk_token"});
    out.push_back({unk_id_, unk_, 0, static_cast<uint32_t>(word.size())});
  }
  std::string unk_, prefix_;
  size_t max_chars_;
  int32_t unk_id_ = -1;
};

class WordLevel final : public Model {
 public:
  WordLevel(const json& j, const Where& w) : unk_(get_string(j, "unk_token", "<unk>", w)) {
    set_vocab(read_vocab_object(j, w), w.at("vocab"));
    unk_id_ = find_id(vocab_, unk_);
  }
  void tokenize(std::string_view word, std::vector<Token>& out) const override {
    int32_t id = find_id(vocab_, word);
    if (id < 0) id = unk_id_;
    if (id < 0) throw_invalid("the unknown token \"" + unk_ + "\" is not in the vocabulary", {.key = "model.unk_token"});
    out.push_back({id, tokens_[static_cast<size_t>(id)], 0, static_cast<uint32_t>(word.size())});
  }

 private:
  std::string unk_;
  int32_t unk_id_ = -1;
};

}  // namespace

std::unique_ptr<Model> make_wordpiece(const json& j, const Where& w) { return std::make_unique<WordPiece>(j, w); }
std::unique_ptr<Model> make_wordlevel(const json& j, const Where& w) { return std::make_unique<WordLevel>(j, w); }

}  // namespace fw::data::hf
