// The Unigram model of tokenizer.json (sentencepiece's unigram, as tokenizers runs it):
// the best-scoring segmentation by Viterbi over a byte trie of the pieces; unknown
// characters score min_score - 10 and consecutive ones fuse; optional byte fallback.
#include <cstdio>

#include "core/error.h"
#include "data/tokenizers/hf_components.h"

namespace fw::data::hf {
namespace {

constexpr double kUnkPenalty = 10.0;

class Unigram final : public Model {
 public:
  Unigram(const json& j, const Where& w) {
    const json& v = get_array(j, "vocab", w);
    TokenMap vocab;
    vocab.reserve(v.size());
    scores_.reserve(v.size());
    nodes_.push_back({});
    for (size_t i = 0; i < v.size(); ++i) {
      const json& e = v[i];
      if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
        w.at("vocab").at(i).fail("expected [\"piece\", score], got " + e.dump());
      const std::string piece = e[0].get<std::string>();
      const auto id = static_cast<int32_t>(i);
      if (!vocab.emplace(piece, id).second) w.at("vocab").at(i).fail("\"" + piece + "\" appears twice");
      scores_.push_back(e[1].get<double>());
      min_score_ = std::min(min_score_, scores_.back());
      insert(piece, id);
    }
    if (static_cast<int64_t>(v.size()) > kMaxId) w.at("vocab").fail("too many pieces");
    set_vocab(std::move(vocab), w.at("vocab"));
    const int64_t unk = get_int(j, "unk_id", -1, w);
    if (unk >= static_cast<int64_t>(scores_.size()) || unk < -1)
      w.at("unk_id").fail(std::to_string(unk) + " is out of range (" + std::to_string(scores_.size()) + " pieces)");
    unk_id_ = static_cast<int32_t>(unk);
    byte_fallback_ = get_bool(j, "byte_fallback", false, w);
  }

  void tokenize(std::string_view s, std::vector<Token>& out) const override {
    if (s.empty()) return;
    struct Best {
      int32_t id = 0;
      double score = 0;
      int64_t starts_at = -1;
    };
    const size_t n = s.size();
    std::vector<Best> best(n + 1);
    const double unk_score = min_score_ - kUnkPenalty;
    size_t start = 0;
    while (start < n) {
      const double here = best[start].score;
      size_t mblen;
      decode_utf8(s, start, &mblen);
      bool single = false;
      uint32_t node = 0;
      for (size_t k = start; k < n; ++k) {
        node = child(node, static_cast<unsigned char>(s[k]));
        if (node == 0) break;
        const int32_t id = nodes_[node].id;
        if (id < 0) continue;
        const size_t end = k + 1;
        const double cand = scores_[static_cast<size_t>(id)] + here;
        Best& t = best[end];
        if (t.starts_at < 0 || cand > t.score) t = {id, cand, static_cast<int64_t>(start)};
        if (end - start == mblen) single = true;
      }
      if (!single) {
        if (unk_id_ < 0) throw_invalid("the Unigram model has no unk_id and the text has an unknown character",
                                       {.key = "model.unk_id"});
        Best& t = best[start + mblen];
        const double cand = unk_score + here;
        if (t.starts_at < 0 || cand > t.score) t = {unk_id_, cand, static_cast<int64_t>(start)};
      }
      start += mblen;
    }
    // Back to front; consecutive unknowns fuse into one piece.
    std::vector<std::pair<size_t, size_t>> pieces;
    size_t end = n;
    size_t unk_end = 0;
    bool in_unk = false;
    while (end > 0) {
      const Best& b = best[end];
      const auto st = static_cast<size_t>(b.starts_at);
      if (b.id == unk_id_) {
        if (!in_unk) unk_end = end;
        in_unk = true;
      } else {
        if (in_unk) pieces.emplace_back(end, unk_end);
        in_unk = false;
        pieces.emplace_back(st, end);
      }
      end = st;
    }
    if (in_unk) pieces.emplace_back(0, unk_end);
    for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
      const auto [b, e] = *it;
      const std::string_view piece = s.substr(b, e - b);
      const int32_t id = find_id(vocab_, piece);
      if (id >= 0) {
        out.push_back({id, std::string(piece), static_cast<uint32_t>(b), static_cast<uint32_t>(e)});
        continue;
      }
      if (byte_fallback_) {
        bool all = true;
        std::vector<int32_t> ids;
        for (unsigned char c : piece) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "<0x%02X>", c);
          ids.push_back(find_id(vocab_, buf));
          all = all && ids.back() >= 0;
        }
        if (all) {
          for (int32_t bid : ids)
            out.push_back({bid, tokens_[static_cast<size_t>(bid)], static_cast<uint32_t>(b), static_cast<uint32_t>(e)});
          continue;
        }
      }
      if (unk_id_ < 0) throw_invalid("the Unigram model has no unk_id", {.key = "model.unk_id"});
      out.push_back({unk_id_, std::string(piece), static_cast<uint32_t>(b), static_cast<uint32_t>(e)});
    }
  }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, uint32_t>> kids;  // sorted by byte
    int32_t id = -1;
  };
  uint32_t child(uint32_t node, unsigned char c) const {
    const auto& k = nodes_[node].kids;
    auto it = std::lower_bound(k.begin(), k.end(), c, [](const auto& p, unsigned char x) { return p.first < x; });
    return it != k.end() && it->first == c ? it->second : 0;
  }
  void insert(std::string_view piece, int32_t id) {
    uint32_t node = 0;
    for (unsigned char c : piece) {
      uint32_t next = child(node, c);
      if (next == 0) {
        next = static_cast<uint32_t>(nodes_.size());
        nodes_.push_back({});
        auto& k = nodes_[node].kids;
        auto it = std::lower_bound(k.begin(), k.end(), c, [](const auto& p, unsigned char x) { return p.first < x; });
        k.insert(it, {c, next});
      }
      node = next;
    }
    if (node != 0 && nodes_[node].id < 0) nodes_[node].id = id;
  }

  std::vector<Node> nodes_;
  std::vector<double> scores_;
  double min_score_ = 1e300;
  int32_t unk_id_ = -1;
  bool byte_fallback_ = false;
};

}  // namespace

std::unique_ptr<Model> make_unigram(const json& j, const Where& w) { return std::make_unique<Unigram>(j, w); }

}  // namespace fw::data::hf
