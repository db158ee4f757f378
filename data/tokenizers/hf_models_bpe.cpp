// The BPE model of tokenizer.json: byte-level (GPT-2, Llama-3, Qwen) and sentencepiece-style
// (byte_fallback, fuse_unk, as in Llama-2 / Mistral / Gemma). Merges by rank with a heap
// (O(n log n) in the word's length), a per-thread cache of recent words.
#include <atomic>
#include <cstdio>
#include <queue>

#include "core/error.h"
#include "data/tokenizers/hf_components.h"

namespace fw::data::hf {
namespace {

struct MergeInfo {
  uint32_t rank;
  int32_t new_id;
};

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }

struct Symbol {
  int32_t id;
  int32_t prev, next;
  uint32_t len;  // bytes of the word; 0 once merged into its left neighbour
};

struct Merge {
  uint32_t rank;
  uint32_t pos;
  int32_t new_id;
  bool operator<(const Merge& o) const {  // priority_queue pops the largest: lowest rank, then leftmost
    return rank != o.rank ? rank > o.rank : pos > o.pos;
  }
};

struct CachedToken {
  int32_t id;
  uint32_t begin, end;
};

constexpr size_t kCacheWordBytes = 256;
constexpr size_t kCacheCapacity = 10000;
std::atomic<uint64_t> g_next_model_uid{1};

class Bpe final : public Model {
 public:
  Bpe(const json& j, const Where& w) {
    if (j.contains("dropout") && !j["dropout"].is_null() && get_double(j, "dropout", 0, w) != 0.0)
      w.at("dropout").fail("BPE dropout is not supported (encoding would be random)");
    if (j.contains("unk_token") && !j["unk_token"].is_null()) unk_token_ = get_string(j, "unk_token", "", w);
    prefix_ = get_string(j, "continuing_subword_prefix", "", w);
    suffix_ = get_string(j, "end_of_word_suffix", "", w);
    fuse_unk_ = get_bool(j, "fuse_unk", false, w);
    byte_fallback_ = get_bool(j, "byte_fallback", false, w);
    ignore_merges_ = get_bool(j, "ignore_merges", false, w);

    TokenMap vocab = read_vocab_object(j, w);
    set_vocab(std::move(vocab), w.at("vocab"));
    if (!unk_token_.empty()) unk_id_ = find_id(vocab_, unk_token_);

    const json& merges = get_array(j, "merges", w);
    merges_.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
      const Where mw = w.at("merges").at(i);
      std::string a, b;
      const json& m = merges[i];
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
          mw.fail("expected \"a b\" (two tokens and one space), got " + m.dump());
        a = s.substr(0, sp);
        b = s.substr(sp + 1);
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        a = m[0].get<std::string>();
        b = m[1].get<std::string>();
      } else {
        mw.fail("expected \"a b\" or [\"a\", \"b\"], got " + m.dump());
      }
      const int32_t ia = find_id(vocab_, a), ib = find_id(vocab_, b);
      if (ia < 0) mw.fail("\"" + a + "\" is not in the vocabulary");
      if (ib < 0) mw.fail("\"" + b + "\" is not in the vocabulary");
      const size_t cut = (!prefix_.empty() && b.compare(0, prefix_.size(), prefix_) == 0) ? prefix_.size() : 0;
      const std::string joined = a + b.substr(cut);
      const int32_t in = find_id(vocab_, joined);
      if (in < 0) mw.fail("the merged token \"" + joined + "\" is not in the vocabulary");
      merges_.insert_or_assign(pair_key(ia, ib), MergeInfo{static_cast<uint32_t>(i), in});
    }
    if (byte_fallback_)
      for (int b = 0; b < 256; ++b) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "<0x%02X>", b);
        byte_ids_[b] = find_id(vocab_, buf);
      }
  }

  void tokenize(std::string_view word, std::vector<Token>& out) const override {
    if (word.empty()) return;
    if (ignore_merges_) {
      const int32_t id = find_id(vocab_, word);
      if (id >= 0) {
        out.push_back({id, tokens_[static_cast<size_t>(id)], 0, static_cast<uint32_t>(word.size())});
        return;
      }
    }
    auto& cache = thread_cache();
    if (word.size() < kCacheWordBytes) {
      auto it = cache.find(word);
      if (it != cache.end()) {
        for (const auto& t : it->second) out.push_back({t.id, tokens_[static_cast<size_t>(t.id)], t.begin, t.end});
        return;
      }
    }
    std::vector<CachedToken> toks = merge_word(word);
    for (const auto& t : toks) out.push_back({t.id, tokens_[static_cast<size_t>(t.id)], t.begin, t.end});
    if (word.size() < kCacheWordBytes && cache.size() < kCacheCapacity) cache.emplace(std::string(word), std::move(toks));
  }

 private:
  using Cache = std::unordered_map<std::string, std::vector<CachedToken>, StringHash, std::equal_to<>>;
  Cache& thread_cache() const { return per_thread_cache<Cache>(uid_); }

  std::vector<CachedToken> merge_word(std::string_view w) const {
    std::vector<Symbol> sym;
    sym.reserve(w.size());
    auto add = [&](int32_t id, size_t len) {
      const auto n = static_cast<int32_t>(sym.size());
      sym.push_back({id, n - 1, n + 1, static_cast<uint32_t>(len)});
    };
    int32_t unk = -1;
    size_t unk_len = 0;
    std::string s;
    for (size_t i = 0; i < w.size();) {
      size_t len;
      decode_utf8(w, i, &len);
      const bool first = i == 0, last = i + len >= w.size();
      s.clear();
      if (!first) s += prefix_;
      s.append(w.substr(i, len));
      if (last) s += suffix_;
      const int32_t id = find_id(vocab_, s);
      if (id >= 0) {
        if (unk >= 0) {
          add(unk, unk_len);
          unk = -1;
        }
        add(id, len);
      } else {
        bool done = false;
        if (byte_fallback_) {
          bool all = true;
          for (unsigned char c : s) all = all && byte_ids_[c] >= 0;
          if (all) {
            for (unsigned char c : s) add(byte_ids_[c], 1);
            done = true;
          }
        }
        if (!done && !unk_token_.empty()) {
          if (unk_id_ < 0)
            throw_invalid("the unknown token \"" + unk_token_ + "\" is not in the vocabulary", {.key = "model.unk_token"});
          if (unk >= 0 && fuse_unk_) {
            unk_len += len;
          } else {
            if (unk >= 0) add(unk, unk_len);
            unk = unk_id_;
            unk_len = len;
          }
        }
      }
      i += len;
    }
    if (unk >= 0) add(unk, unk_len);
    if (!sym.empty()) sym.back().next = -1;

    std::priority_queue<Merge> queue;
    for (size_t k = 0; k + 1 < sym.size(); ++k) {
      auto it = merges_.find(pair_key(sym[k].id, sym[k + 1].id));
      if (it != merges_.end()) queue.push({it->second.rank, static_cast<uint32_t>(k), it->second.new_id});
    }
    while (!queue.empty()) {
      const Merge top = queue.top();
      queue.pop();
      Symbol& cur = sym[top.pos];
      if (cur.len == 0 || cur.next == -1) continue;
      const auto next_pos = static_cast<size_t>(cur.next);
      const Symbol right = sym[next_pos];
      auto it = merges_.find(pair_key(cur.id, right.id));
      if (it == merges_.end() || it->second.new_id != top.new_id) continue;
      cur.id = top.new_id;
      cur.len += right.len;
      cur.next = right.next;
      sym[next_pos].len = 0;
      if (right.next > -1 && static_cast<size_t>(right.next) < sym.size()) sym[static_cast<size_t>(right.next)].prev = static_cast<int32_t>(top.pos);
      if (cur.prev >= 0) {
        auto pit = merges_.find(pair_key(sym[static_cast<size_t>(cur.prev)].id, cur.id));
        if (pit != merges_.end()) queue.push({pit->second.rank, static_cast<uint32_t>(cur.prev), pit->second.new_id});
      }
      if (cur.next >= 0) {
        auto nit = merges_.find(pair_key(cur.id, sym[static_cast<size_t>(cur.next)].id));
        if (nit != merges_.end()) queue.push({nit->second.rank, top.pos, nit->second.new_id});
      }
    }
    std::vector<CachedToken> out;
    uint32_t off = 0;
    for (const auto& x : sym) {
      if (x.len == 0) continue;
      out.push_back({x.id, off, off + x.len});
      off += x.len;
    }
    return out;
  }

  std::unordered_map<uint64_t, MergeInfo> merges_;
  std::string unk_token_, prefix_, suffix_;
  int32_t unk_id_ = -1;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  int32_t byte_ids_[256] = {};
  uint64_t uid_ = g_next_model_uid++;
};

}  // namespace

std::unique_ptr<Model> make_bpe(const json& j, const Where& w) { return std::make_unique<Bpe>(j, w); }

}  // namespace fw::data::hf
