// Offline-Diverse / Hard / Mix selection and files (see testset.h).
#include "arena/testset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "arena/decontaminate.h"
#include "arena/embeddings.h"
#include "arena/jsonl_lines.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/rng.h"

namespace fw::arena {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kDiverseStream = 1, kHardStream = 2;

// Pool indices by cluster, each cluster in pool order.
std::vector<std::vector<int64_t>> members_by_cluster(const std::vector<int32_t>& labels, int64_t clusters) {
  std::vector<std::vector<int64_t>> m(static_cast<size_t>(clusters));
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= clusters)
      throw_invalid("cluster label " + std::to_string(labels[i]) + " of item " + std::to_string(i) +
                    " is outside [0, " + std::to_string(clusters) + ")");
    m[static_cast<size_t>(labels[i])].push_back(static_cast<int64_t>(i));
  }
  return m;
}

// Up to `n` members of each cluster in a seeded random order, skipping texts already in `seen`.
std::vector<int64_t> draw(const std::vector<std::vector<int64_t>>& members, const std::vector<std::string>& norm,
                          int64_t n, uint64_t seed, uint64_t stream, bool dedup, int64_t& skipped) {
  std::vector<int64_t> out;
  std::unordered_set<std::string> seen;
  for (size_t c = 0; c < members.size(); ++c) {
    std::vector<int64_t> order = members[c];
    Rng rng = Rng::for_index(seed, c, stream);
    rng.shuffle(order);
    int64_t taken = 0;
    for (int64_t i : order) {
      if (taken >= n) break;
      if (dedup && !seen.insert(norm[static_cast<size_t>(i)]).second) {
        ++skipped;
        continue;
      }
      out.push_back(i);
      ++taken;
    }
  }
  return out;
}

nlohmann::ordered_json by_category(const std::vector<PoolItem>& pool, const std::vector<int64_t>& idx) {
  std::map<std::string, int64_t> counts;
  for (int64_t i : idx) {
    const std::string& c = pool[static_cast<size_t>(i)].record.category;
    ++counts[c.empty() ? "(none)" : c];
  }
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [k, v] : counts) j[k] = v;
  return j;
}

int64_t clusters_covered(const std::vector<int32_t>& labels, const std::vector<int64_t>& idx, int64_t clusters) {
  std::vector<int64_t> counts(static_cast<size_t>(clusters), 0);
  for (int64_t i : idx) ++counts[static_cast<size_t>(labels[static_cast<size_t>(i)])];
  int64_t covered = 0;
  for (int64_t c : counts) covered += c > 0;
  return covered;
}

void write_set(const std::string& path, const std::vector<PoolItem>& pool, const std::vector<int32_t>& labels,
               const std::vector<int64_t>& idx, const std::vector<double>* scores) {
  std::string text;
  for (size_t k = 0; k < idx.size(); ++k) {
    const auto i = static_cast<size_t>(idx[k]);
    nlohmann::ordered_json r = pool[i].raw;
    r["cluster"] = labels[i];
    if (scores && std::isfinite((*scores)[k])) r["difficulty_score"] = (*scores)[k];
    text += r.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
  }
  write_file_atomic(path, text);
}

}  // namespace

std::vector<PoolItem> read_pool(const std::vector<std::string>& files) {
  std::vector<PoolItem> out;
  std::unordered_set<std::string> ids;
  for (const auto& file : files) {
    for (auto& l : read_jsonl_lines(file)) {
      PoolItem p;
      try {
        p.record = data::parse_prompt_record(l.json, file + ":" + std::to_string(l.line));
        if (!ids.insert(p.record.id).second) throw_invalid("duplicate prompt id '" + p.record.id + "'", {.key = "id"});
      } catch (const Error& e) {
        ErrorContext ctx = e.context();
        ctx.file = file;
        ctx.line = l.line;
        throw Error(e.kind(), e.message(), ctx);
      }
      p.raw = std::move(l.json);
      p.file = file;
      p.line = l.line;
      out.push_back(std::move(p));
    }
  }
  return out;
}

DifficultyRater field_rater(const std::vector<PoolItem>& pool, const std::string& field) {
  auto values = std::make_shared<std::unordered_map<std::string, double>>();
  for (const auto& p : pool) {
    auto it = p.raw.find(field);
    if (it != p.raw.end() && it->is_number()) (*values)[p.record.id] = it->get<double>();
  }
  return [values](const std::vector<data::PromptRecord>& records) {
    std::vector<double> out;
    out.reserve(records.size());
    for (const auto& r : records) {
      auto it = values->find(r.id);
      out.push_back(it == values->end() ? std::numeric_limits<double>::quiet_NaN() : it->second);
    }
    return out;
  };
}

Testset build_testset(const std::vector<PoolItem>& pool, const std::vector<int32_t>& labels, int64_t clusters,
                      const DifficultyRater& rate, const TestsetOptions& opts) {
  if (labels.size() != pool.size())
    throw_invalid(std::to_string(labels.size()) + " cluster labels for " + std::to_string(pool.size()) + " prompts");
  if (opts.diverse_per_cluster < 0 || opts.hard_candidates_per_cluster < 0 || opts.hard_total < 0)
    throw_invalid("test-set sizes must be >= 0", {.key = "diverse_per_cluster"});
  const auto members = members_by_cluster(labels, clusters);
  std::vector<std::string> norm(pool.size());
  for (size_t i = 0; i < pool.size(); ++i) norm[i] = normalize_text(prompt_text(pool[i].record.messages));

  Testset t;
  t.diverse = draw(members, norm, opts.diverse_per_cluster, opts.seed, kDiverseStream, opts.dedup_text,
                   t.diverse_duplicates_skipped);

  // Hard: rate the candidates, keep the top M.
  const std::vector<int64_t> cand = draw(members, norm, opts.hard_candidates_per_cluster, opts.seed, kHardStream,
                                         opts.dedup_text, t.hard_duplicates_skipped);
  t.hard_candidates = static_cast<int64_t>(cand.size());
  if (!cand.empty() && opts.hard_total > 0) {
    if (!rate) throw_invalid("Offline-Hard needs a difficulty rater", {.key = "rater"});
    std::vector<data::PromptRecord> records;
    records.reserve(cand.size());
    for (int64_t i : cand) records.push_back(pool[static_cast<size_t>(i)].record);
    const std::vector<double> scores = rate(records);
    if (scores.size() != cand.size())
      throw_runtime("the difficulty rater returned " + std::to_string(scores.size()) + " scores for " +
                    std::to_string(cand.size()) + " prompts");
    struct Rated { double score; uint64_t tie; const std::string* id; int64_t index; };
    std::vector<Rated> rated;
    for (size_t k = 0; k < cand.size(); ++k) {
      if (!std::isfinite(scores[k])) {
        ++t.hard_unrated;
        continue;
      }
      const std::string& id = pool[static_cast<size_t>(cand[k])].record.id;
      rated.push_back({scores[k], hash_string(id, opts.seed), &id, cand[k]});
    }
    std::sort(rated.begin(), rated.end(), [](const Rated& a, const Rated& b) {
      if (a.score != b.score) return a.score > b.score;
      if (a.tie != b.tie) return a.tie < b.tie;
      return *a.id < *b.id;
    });
    const size_t keep = std::min(rated.size(), static_cast<size_t>(opts.hard_total));
    for (size_t k = 0; k < keep; ++k) {
      t.hard.push_back(rated[k].index);
      t.hard_scores.push_back(rated[k].score);
    }
  }

  // Mix: diverse, then hard items not already in (by id, or by text).
  std::unordered_set<int64_t> in_mix;
  std::unordered_set<std::string> texts;
  for (int64_t i : t.diverse) {
    in_mix.insert(i);
    texts.insert(norm[static_cast<size_t>(i)]);
    t.mix.push_back(i);
    t.mix_scores.push_back(std::numeric_limits<double>::quiet_NaN());
  }
  for (size_t k = 0; k < t.hard.size(); ++k) {
    const int64_t i = t.hard[k];
    const bool dup = in_mix.count(i) || (opts.dedup_text && texts.count(norm[static_cast<size_t>(i)]));
    if (dup) {
      ++t.mix_duplicates_removed;
      // The diverse copy is the same prompt: it carries the hard score too.
      for (size_t m = 0; m < t.mix.size(); ++m)
        if (t.mix[m] == i || (opts.dedup_text && norm[static_cast<size_t>(t.mix[m])] == norm[static_cast<size_t>(i)])) {
          if (!std::isfinite(t.mix_scores[m])) t.mix_scores[m] = t.hard_scores[k];
          break;
        }
      continue;
    }
    in_mix.insert(i);
    texts.insert(norm[static_cast<size_t>(i)]);
    t.mix.push_back(i);
    t.mix_scores.push_back(t.hard_scores[k]);
  }
  return t;
}

nlohmann::ordered_json write_testset(const std::string& out_dir, const std::vector<PoolItem>& pool,
                                     const std::vector<int32_t>& labels, int64_t clusters, const Testset& t,
                                     const TestsetOptions& opts, const nlohmann::ordered_json& extra) {
  fs::create_directories(out_dir);
  write_set(out_dir + "/offline_diverse.jsonl", pool, labels, t.diverse, nullptr);
  write_set(out_dir + "/offline_hard.jsonl", pool, labels, t.hard, &t.hard_scores);
  write_set(out_dir + "/offline_mix.jsonl", pool, labels, t.mix, &t.mix_scores);

  std::vector<int64_t> all(pool.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  std::vector<int64_t> sizes(static_cast<size_t>(clusters), 0);
  for (int32_t l : labels) ++sizes[static_cast<size_t>(l)];

  nlohmann::ordered_json s;
  s["pool"] = {{"prompts", pool.size()}, {"by_category", by_category(pool, all)}};
  s["clusters"] = clusters;
  s["cluster_sizes"] = sizes;
  s["options"] = {{"diverse_per_cluster", opts.diverse_per_cluster},
                  {"hard_candidates_per_cluster", opts.hard_candidates_per_cluster},
                  {"hard_total", opts.hard_total},
                  {"dedup_text", opts.dedup_text},
                  {"seed", opts.seed}};
  s["diverse"] = {{"count", t.diverse.size()},
                  {"clusters_covered", clusters_covered(labels, t.diverse, clusters)},
                  {"duplicates_skipped", t.diverse_duplicates_skipped},
                  {"by_category", by_category(pool, t.diverse)}};
  nlohmann::ordered_json hard = {{"count", t.hard.size()},
                                 {"candidates", t.hard_candidates},
                                 {"rated", t.hard_candidates - t.hard_unrated},
                                 {"unrated_excluded", t.hard_unrated},
                                 {"duplicates_skipped", t.hard_duplicates_skipped},
                                 {"clusters_covered", clusters_covered(labels, t.hard, clusters)},
                                 {"by_category", by_category(pool, t.hard)}};
  if (!t.hard_scores.empty()) {
    double sum = 0;
    for (double v : t.hard_scores) sum += v;
    hard["score"] = {{"max", t.hard_scores.front()},
                     {"min", t.hard_scores.back()},
                     {"mean", sum / static_cast<double>(t.hard_scores.size())}};
  }
  s["hard"] = std::move(hard);
  s["mix"] = {{"count", t.mix.size()},
              {"duplicates_removed", t.mix_duplicates_removed},
              {"multi_turn", std::count_if(t.mix.begin(), t.mix.end(), [&](int64_t i) {
                 return pool[static_cast<size_t>(i)].record.messages.size() > 1;
               })},
              {"by_category", by_category(pool, t.mix)}};
  for (const auto& [k, v] : extra.items()) s[k] = v;
  write_file_atomic(out_dir + "/stats.json", s.dump(2) + "\n");
  return s;
}

}  // namespace fw::arena
