// Exact, near-duplicate and nearest-neighbour decontamination (see decontaminate.h).
#include "arena/decontaminate.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <set>
#include <unordered_map>

#include "arena/jsonl_lines.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/rng.h"

namespace fw::arena {
namespace fs = std::filesystem;
namespace {

bool sentence_punct(unsigned char c) {
  switch (c) {
    case '.': case ',': case ';': case ':': case '!': case '?': case '"': case '\'': case '`':
    case '(': case ')': case '[': case ']': case '{': case '}':
      return true;
    default:
      return false;
  }
}

// Every pair (train i, test j) with Jaccard >= t, via prefix filtering.
std::vector<std::vector<std::pair<int64_t, double>>> near_pairs(const std::vector<std::vector<uint64_t>>& train,
                                                               const std::vector<std::vector<uint64_t>>& test,
                                                               double t, int threads) {
  // Global order: rarest first (document frequency over both sides), ties by hash.
  std::unordered_map<uint64_t, int64_t> df;
  for (const auto* side : {&train, &test})
    for (const auto& s : *side)
      for (uint64_t h : s) ++df[h];
  std::vector<std::pair<int64_t, uint64_t>> order;
  order.reserve(df.size());
  for (const auto& [h, f] : df) order.emplace_back(f, h);
  std::sort(order.begin(), order.end());
  std::unordered_map<uint64_t, int32_t> rank;
  rank.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) rank[order[i].second] = static_cast<int32_t>(i);
  auto ranked = [&](const std::vector<std::vector<uint64_t>>& sets) {
    std::vector<std::vector<int32_t>> out(sets.size());
    for (size_t i = 0; i < sets.size(); ++i) {
      for (uint64_t h : sets[i]) out[i].push_back(rank.at(h));
      std::sort(out[i].begin(), out[i].end());
    }
    return out;
  };
  const auto tr = ranked(train), te = ranked(test);
  auto prefix = [t](size_t n) {
    const auto need = static_cast<size_t>(std::ceil(t * static_cast<double>(n) - 1e-9));
    return n - std::min(n, need) + 1;
  };
  std::vector<std::vector<int64_t>> postings(order.size());
  for (size_t i = 0; i < tr.size(); ++i)
    for (size_t p = 0, len = std::min(tr[i].size(), prefix(tr[i].size())); p < len; ++p)
      postings[static_cast<size_t>(tr[i][p])].push_back(static_cast<int64_t>(i));

  std::vector<std::vector<std::pair<int64_t, double>>> hits(te.size());  // per test item
  parallel_for(static_cast<int64_t>(te.size()), threads, [&](int64_t b, int64_t e) {
    std::vector<int64_t> cand;
    for (int64_t j = b; j < e; ++j) {
      const auto& s = te[static_cast<size_t>(j)];
      if (s.empty()) continue;
      cand.clear();
      for (size_t p = 0, len = std::min(s.size(), prefix(s.size())); p < len; ++p)
        for (int64_t i : postings[static_cast<size_t>(s[p])]) cand.push_back(i);
      std::sort(cand.begin(), cand.end());
      cand.erase(std::unique(cand.begin(), cand.end()), cand.end());
      for (int64_t i : cand) {
        const auto& r = tr[static_cast<size_t>(i)];
        const double lo = static_cast<double>(std::min(r.size(), s.size()));
        const double hi = static_cast<double>(std::max(r.size(), s.size()));
        if (lo < t * hi - 1e-9) continue;  // size filter
        size_t a = 0, c = 0, inter = 0;
        while (a < r.size() && c < s.size()) {
          if (r[a] == s[c]) ++inter, ++a, ++c;
          else if (r[a] < s[c]) ++a;
          else ++c;
        }
        const double jac = static_cast<double>(inter) / static_cast<double>(r.size() + s.size() - inter);
        if (jac >= t - 1e-12) hits[static_cast<size_t>(j)].emplace_back(i, jac);
      }
    }
  });
  return hits;
}

std::vector<data::Message> up_to_last_user(const nlohmann::ordered_json& list, const char* key) {
  std::vector<data::Message> m = data::parse_messages(nlohmann::json(list));
  while (!m.empty() && m.back().role != "user") m.pop_back();
  if (m.empty()) throw_invalid(std::string("\"") + key + "\" has no user turn", {.key = key});
  return m;
}

}  // namespace

std::string normalize_text(std::string_view text) {
  std::string out;
  bool space = false;
  for (unsigned char c : text) {
    if (sentence_punct(c)) continue;
    if (std::isspace(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += static_cast<char>(c < 0x80 ? std::tolower(c) : c);
  }
  return out;
}

std::vector<uint64_t> word_shingles(const std::string& normalized, int n) {
  std::vector<std::string_view> words;
  std::string_view s(normalized);
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find(' ', pos);
    if (end == std::string_view::npos) end = s.size();
    if (end > pos) words.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  std::vector<uint64_t> out;
  if (words.empty()) return out;
  const size_t w = static_cast<size_t>(std::max(1, n));
  if (words.size() <= w) {
    out.push_back(hash_string(normalized));
    return out;
  }
  std::string gram;
  for (size_t i = 0; i + w <= words.size(); ++i) {
    gram.clear();
    for (size_t k = 0; k < w; ++k) {
      if (k) gram += ' ';
      gram += words[i + k];
    }
    out.push_back(hash_string(gram));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

double jaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  if (a.empty() && b.empty()) return 1.0;
  size_t i = 0, j = 0, inter = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j]) ++inter, ++i, ++j;
    else if (a[i] < b[j]) ++i;
    else ++j;
  }
  return static_cast<double>(inter) / static_cast<double>(a.size() + b.size() - inter);
}

const char* contamination_name(Contamination c) {
  switch (c) {
    case Contamination::None: return "";
    case Contamination::ExactDuplicate: return "exact_duplicate";
    case Contamination::NearDuplicate: return "near_duplicate";
    case Contamination::Neighbour: return "neighbour";
  }
  return "";
}

ContaminationReport find_contamination(const std::vector<std::string>& train_texts, const Embeddings& train_emb,
                                       const std::vector<std::string>& test_texts, const Embeddings& test_emb,
                                       const DecontaminateOptions& opts) {
  const auto n_train = static_cast<int64_t>(train_texts.size());
  const auto n_test = static_cast<int64_t>(test_texts.size());
  if (opts.neighbours < 0) throw_invalid("decontaminate: neighbours must be >= 0", {.key = "neighbours"});
  if (opts.neighbours > 0) {
    if (train_emb.rows != n_train || test_emb.rows != n_test)
      throw_invalid("decontaminate: " + std::to_string(train_emb.rows) + "/" + std::to_string(test_emb.rows) +
                    " embedding rows for " + std::to_string(n_train) + "/" + std::to_string(n_test) + " texts");
    if (n_train > 0 && n_test > 0 && train_emb.dim != test_emb.dim)
      throw_invalid("decontaminate: training and test embeddings differ in dimension (" +
                    std::to_string(train_emb.dim) + " vs " + std::to_string(test_emb.dim) + ")",
                    {.hint = "embed both with the same embedder"});
  }
  ContaminationReport rep;
  rep.hits.assign(static_cast<size_t>(n_train), {});
  auto offer = [&](int64_t i, Contamination why, int64_t j, double sim) {
    ContaminationHit& h = rep.hits[static_cast<size_t>(i)];
    // Earlier reasons win; within a reason the higher similarity, then the lower test index.
    if (h.reason != Contamination::None && h.reason < why) return;
    if (h.reason == why && (sim < h.similarity || (sim == h.similarity && j >= h.test_index))) return;
    h = {why, j, sim};
  };

  // Exact duplicates.
  std::vector<std::string> train_norm(static_cast<size_t>(n_train)), test_norm(static_cast<size_t>(n_test));
  parallel_for(n_train, opts.threads, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) train_norm[static_cast<size_t>(i)] = normalize_text(train_texts[static_cast<size_t>(i)]);
  });
  for (int64_t j = 0; j < n_test; ++j) test_norm[static_cast<size_t>(j)] = normalize_text(test_texts[static_cast<size_t>(j)]);
  std::unordered_map<std::string, int64_t> test_index;
  for (int64_t j = 0; j < n_test; ++j) test_index.emplace(test_norm[static_cast<size_t>(j)], j);
  for (int64_t i = 0; i < n_train; ++i) {
    auto it = test_index.find(train_norm[static_cast<size_t>(i)]);
    if (it != test_index.end()) offer(i, Contamination::ExactDuplicate, it->second, 1.0);
  }

  // Near duplicates.
  if (opts.near_dup_jaccard <= 1.0) {
    if (!(opts.near_dup_jaccard > 0))
      throw_invalid("decontaminate: near_dup_jaccard must be in (0, 1] (or > 1 to turn it off)", {.key = "near_dup_jaccard"});
    std::vector<std::vector<uint64_t>> tr(static_cast<size_t>(n_train)), te(static_cast<size_t>(n_test));
    parallel_for(n_train, opts.threads, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) tr[static_cast<size_t>(i)] = word_shingles(train_norm[static_cast<size_t>(i)], opts.shingle_words);
    });
    for (int64_t j = 0; j < n_test; ++j) te[static_cast<size_t>(j)] = word_shingles(test_norm[static_cast<size_t>(j)], opts.shingle_words);
    const auto pairs = near_pairs(tr, te, opts.near_dup_jaccard, opts.threads);
    for (int64_t j = 0; j < n_test; ++j)
      for (const auto& [i, jac] : pairs[static_cast<size_t>(j)]) offer(i, Contamination::NearDuplicate, j, jac);
  }

  // Nearest neighbours of each test item among the training items.
  if (opts.neighbours > 0 && n_train > 0) {
    const int64_t k = std::min(opts.neighbours, n_train);
    std::vector<std::vector<std::pair<int64_t, float>>> top(static_cast<size_t>(n_test));
    parallel_for(n_test, opts.threads, [&](int64_t b, int64_t e) {
      std::vector<std::pair<float, int64_t>> sims(static_cast<size_t>(n_train));
      for (int64_t j = b; j < e; ++j) {
        for (int64_t i = 0; i < n_train; ++i) sims[static_cast<size_t>(i)] = {dot(test_emb.row(j), train_emb.row(i), test_emb.dim), i};
        std::partial_sort(sims.begin(), sims.begin() + k, sims.end(), [](const auto& x, const auto& y) {
          return x.first != y.first ? x.first > y.first : x.second < y.second;
        });
        for (int64_t r = 0; r < k; ++r)
          if (sims[static_cast<size_t>(r)].first >= opts.neighbour_min_similarity)
            top[static_cast<size_t>(j)].emplace_back(sims[static_cast<size_t>(r)].second, sims[static_cast<size_t>(r)].first);
      }
    });
    for (int64_t j = 0; j < n_test; ++j)
      for (const auto& [i, sim] : top[static_cast<size_t>(j)]) offer(i, Contamination::Neighbour, j, sim);
  }

  rep.counts.train = n_train;
  for (const auto& h : rep.hits) {
    if (h.reason == Contamination::ExactDuplicate) ++rep.counts.exact_duplicate;
    else if (h.reason == Contamination::NearDuplicate) ++rep.counts.near_duplicate;
    else if (h.reason == Contamination::Neighbour) ++rep.counts.neighbour;
    else ++rep.counts.kept;
  }
  return rep;
}

std::vector<data::Message> training_prompt(const nlohmann::ordered_json& record) {
  if (!record.is_object()) throw_invalid("a training record must be a JSON object");
  if (auto it = record.find("prompt"); it != record.end()) {
    if (it->is_string()) return {{"user", it->get<std::string>()}};
    if (it->is_array()) return data::parse_messages(nlohmann::json(*it));
    throw_invalid("\"prompt\" must be a string or a list of messages", {.key = "prompt"});
  }
  if (auto it = record.find("messages"); it != record.end() && it->is_array()) return up_to_last_user(*it, "messages");
  if (auto it = record.find("chosen"); it != record.end() && it->is_array()) return up_to_last_user(*it, "chosen");
  throw_invalid("no prompt in the record (expected \"prompt\", \"messages\" or message-list \"chosen\")",
                {.key = "prompt"});
}

std::vector<FileDecontamination> decontaminate_files(const std::vector<std::string>& train_files,
                                                     const std::vector<TestPrompt>& test, const Embeddings& test_emb,
                                                     const EmbedFn& embed, const std::string& out_dir,
                                                     const DecontaminateOptions& opts) {
  std::set<std::string> names;
  for (const auto& f : train_files)
    if (!names.insert(fs::path(f).filename().string()).second)
      throw_invalid("two training files named '" + fs::path(f).filename().string() + "' (their cleaned copies would collide)",
                    {.file = f, .key = "decontaminate.train"});
  fs::create_directories(out_dir);
  std::vector<std::string> test_texts;
  for (const auto& t : test) test_texts.push_back(prompt_text(t.messages));
  JsonlWriter removed(out_dir + "/removed.jsonl");
  std::vector<FileDecontamination> out;
  for (const auto& file : train_files) {
    const std::vector<JsonlLine> lines = read_jsonl_lines(file);
    std::vector<std::vector<data::Message>> prompts;
    std::vector<std::string> texts;
    for (const auto& l : lines) {
      try {
        prompts.push_back(training_prompt(l.json));
      } catch (const Error& e) {
        ErrorContext ctx = e.context();
        ctx.file = file;
        ctx.line = l.line;
        throw Error(e.kind(), e.message(), ctx);
      }
      texts.push_back(prompt_text(prompts.back()));
    }
    Embeddings train_emb;
    if (opts.neighbours > 0) train_emb = embed(prompts);
    const ContaminationReport rep = find_contamination(texts, train_emb, test_texts, test_emb, opts);
    FileDecontamination fd{file, out_dir + "/" + fs::path(file).filename().string(), rep.counts};
    std::string kept;
    for (size_t i = 0; i < lines.size(); ++i) {
      const ContaminationHit& h = rep.hits[i];
      if (h.reason == Contamination::None) {
        kept += lines[i].text;
        kept += '\n';
        continue;
      }
      nlohmann::ordered_json r;
      r["file"] = file;
      r["line"] = lines[i].line;
      auto id = lines[i].json.find("id");
      r["id"] = id != lines[i].json.end() ? *id : nlohmann::ordered_json(nullptr);
      r["reason"] = contamination_name(h.reason);
      r["test_id"] = test[static_cast<size_t>(h.test_index)].id;
      r["similarity"] = h.similarity;
      r["record"] = lines[i].json;
      removed.write(r);
    }
    write_file_atomic(fd.out, kept);
    out.push_back(std::move(fd));
  }
  return out;
}

}  // namespace fw::arena
