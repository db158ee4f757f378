#include "data/tokenizers/hf_added_tokens.h"

#include <algorithm>

namespace fw::data::hf {

void AddedVocab::Trie::insert(std::string_view s, int32_t token) {
  if (!s.empty()) first[static_cast<unsigned char>(s[0])] = true;
  uint32_t node = 0;
  for (unsigned char c : s) {
    auto& kids = nodes[node].kids;
    auto it = std::find_if(kids.begin(), kids.end(), [c](const auto& k) { return k.first == c; });
    if (it != kids.end()) {
      node = it->second;
      continue;
    }
    const auto next = static_cast<uint32_t>(nodes.size());
    nodes[node].kids.emplace_back(c, next);
    nodes.push_back({});
    node = next;
  }
  if (nodes[node].token < 0) nodes[node].token = token;
}

std::pair<int32_t, size_t> AddedVocab::Trie::longest_at(std::string_view text, size_t i) const {
  std::pair<int32_t, size_t> best{-1, 0};
  uint32_t node = 0;
  for (size_t k = i; k < text.size(); ++k) {
    const auto c = static_cast<unsigned char>(text[k]);
    const auto& kids = nodes[node].kids;
    auto it = std::find_if(kids.begin(), kids.end(), [c](const auto& x) { return x.first == c; });
    if (it == kids.end()) break;
    node = it->second;
    if (nodes[node].token >= 0) best = {nodes[node].token, k + 1 - i};
  }
  return best;
}

void AddedVocab::load(const json& arr, const Where& w, const Normalizer* normalizer) {
  if (arr.is_null()) return;
  if (!arr.is_array()) w.fail("expected an array");
  for (size_t i = 0; i < arr.size(); ++i) {
    const Where tw = w.at(i);
    const json& t = arr[i];
    AddedToken a;
    const int64_t id = get_int(t, "id", -1, tw);
    if (!t.contains("id")) tw.at("id").fail("missing");
    if (id < 0 || id > kMaxId) tw.at("id").fail("id " + std::to_string(id) + " is out of range");
    a.id = static_cast<int32_t>(id);
    a.content = get_string(t, "content", "", tw);
    if (a.content.empty()) tw.at("content").fail("empty");
    a.single_word = get_bool(t, "single_word", false, tw);
    a.lstrip = get_bool(t, "lstrip", false, tw);
    a.rstrip = get_bool(t, "rstrip", false, tw);
    a.special = get_bool(t, "special", false, tw);
    a.normalized = get_bool(t, "normalized", !a.special, tw);
    tokens_.push_back(std::move(a));
  }
  for (size_t i = 0; i < tokens_.size(); ++i) {
    AddedToken& a = tokens_[i];
    a.decoded = a.content;
    if (a.normalized) {
      NormalizedString s = NormalizedString::from_input(a.content);
      if (normalizer) normalizer->normalize(s);
      a.decoded = s.text();
      if (!s.empty()) normalized_.insert(s.text(), static_cast<int32_t>(i));
    } else {
      raw_.insert(a.content, static_cast<int32_t>(i));
    }
  }
}

namespace {
bool word_at_end(std::string_view s) {  // tokenizers' \w$
  if (s.empty()) return false;
  size_t b = s.size() - 1;
  while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  size_t len;
  return is_word_char(decode_utf8(s, b, &len));
}
bool word_at_start(std::string_view s) {  // ^\w
  if (s.empty()) return false;
  size_t len;
  return is_word_char(decode_utf8(s, 0, &len));
}
size_t trailing_space_start(std::string_view s) {  // start of \s*$
  size_t e = s.size();
  while (e > 0) {
    size_t b = e - 1;
    while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
    size_t len;
    if (!is_whitespace(decode_utf8(s, b, &len))) break;
    e = b;
  }
  return e;
}
size_t leading_space_len(std::string_view s) {  // length of ^\s*
  size_t i = 0;
  while (i < s.size()) {
    size_t len;
    if (!is_whitespace(decode_utf8(s, i, &len))) break;
    i += len;
  }
  return i;
}
}  // namespace

bool AddedVocab::pieces_of(const Trie& trie, std::string_view text, size_t base, std::vector<Piece>& out) const {
  // The leftmost-longest matches, without overlap (the automaton's pass) ...
  std::vector<std::pair<int32_t, std::pair<size_t, size_t>>> found;
  for (size_t i = 0; i < text.size();) {
    if (!trie.first[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    const auto [tok, len] = trie.longest_at(text, i);
    if (tok >= 0) {
      found.push_back({tok, {i, i + len}});
      i += len;
    } else {
      ++i;
    }
  }
  // ... then the flags, as tokenizers' find_matches applies them.
  size_t start_offset = 0;
  auto add = [&](int32_t tok, size_t b, size_t e) {
    if (b < e) out.push_back({tok, base + b, base + e});
  };
  for (const auto& [tok, range] : found) {
    auto [start, stop] = range;
    const AddedToken& a = tokens_[static_cast<size_t>(tok)];
    if (a.single_word) {
      const bool start_space = start == 0 || !word_at_end(text.substr(0, start));
      const bool stop_space = stop == text.size() || !word_at_start(text.substr(stop));
      if (!start_space || !stop_space) continue;
    }
    if (a.lstrip) start = std::max(trailing_space_start(text.substr(0, start)), start_offset);
    if (a.rstrip) stop += leading_space_len(text.substr(stop));
    add(-1, start_offset, start);
    add(tok, start, stop);
    start_offset = stop;
  }
  add(-1, start_offset, text.size());
  return !found.empty();
}

void AddedVocab::split_with(const Trie& trie, PreTokenized& p) const {
  if (trie.empty()) return;
  std::vector<Split> next;
  next.reserve(p.splits.size());
  std::vector<Piece> pieces;
  for (auto& sp : p.splits) {
    if (sp.tokens || sp.normalized.empty()) {
      if (!sp.normalized.empty()) next.push_back(std::move(sp));
      continue;
    }
    const NormalizedString& s = sp.normalized;
    pieces.clear();
    if (!pieces_of(trie, s.text(), 0, pieces)) {  // no added token in it
      next.push_back(std::move(sp));
      continue;
    }
    for (const Piece& pc : pieces) {
      Split piece{s.slice(pc.begin, pc.end), std::nullopt};
      if (pc.token >= 0) {
        const auto len = static_cast<uint32_t>(piece.normalized.size());
        piece.tokens = std::vector<Token>{{tokens_[static_cast<size_t>(pc.token)].id, piece.normalized.text(), 0, len}};
      }
      next.push_back(std::move(piece));
    }
  }
  p.splits = std::move(next);
}

std::vector<AddedVocab::Piece> AddedVocab::cut(std::string_view text) const {
  std::vector<Piece> raw, out;
  if (raw_.empty()) raw.push_back({-1, 0, text.size()});
  else pieces_of(raw_, text, 0, raw);
  for (const Piece& p : raw) {
    if (p.token >= 0 || normalized_.empty()) {
      if (p.begin < p.end) out.push_back(p);
      continue;
    }
    pieces_of(normalized_, text.substr(p.begin, p.end - p.begin), p.begin, out);
  }
  return out;
}

PreTokenized AddedVocab::extract_and_normalize(std::string_view text, const Normalizer* normalizer) const {
  PreTokenized p;
  p.splits.push_back({NormalizedString::from_input(text), std::nullopt});
  split_with(raw_, p);
  for (auto& sp : p.splits)
    if (!sp.tokens && normalizer) normalizer->normalize(sp.normalized);
  split_with(normalized_, p);
  return p;
}

}  // namespace fw::data::hf
