#include "arena/sft_selection.h"

#include <algorithm>
#include <map>

#include "arena/embeddings.h"
#include "arena/kmeans.h"
#include "arena/text_embedding.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/strings.h"
#include "data/synth/tasks.h"

namespace fw::arena {

namespace {
// 0, 1, ..., n-1 in a seeded random order.
std::vector<size_t> shuffled(size_t n, uint64_t seed) {
  std::vector<size_t> order(n);
  for (size_t k = 0; k < n; ++k) order[k] = k;
  Rng rng(seed);
  rng.shuffle(order);
  return order;
}
}  // namespace

SftSelection sft_selection_from_name(const std::string& name) {
  return enum_from_name_or_throw<SftSelection>(name, "sft_selection");
}

std::string sft_selection_name(SftSelection s) { return std::string(name_of(s)); }

std::string sft_selection_description(SftSelection s) {
  switch (s) {
    case SftSelection::Judge:
      return "pair judge: the prompts the target lost by the margin, with the best winner's answer";
    case SftSelection::Random:
      return "random: as many random prompts of the slice, with the pool's own response (the reference)";
    case SftSelection::KMeans:
      return "k-means diverse: as many prompts taken round robin over k-means clusters of the slice, with the pool's own "
             "response (the reference)";
    case SftSelection::Longest:
      return "longest: as many of the slice's longest instructions (characters), with the pool's own response (the "
             "reference)";
  }
  return "";
}

std::vector<size_t> select_random(const std::vector<data::PromptRecord>& prompts, size_t n, uint64_t seed) {
  std::vector<size_t> order = shuffled(prompts.size(), seed);
  order.resize(std::min(n, order.size()));
  return order;
}

int64_t kmeans_clusters(size_t n, size_t rows, int64_t per_cluster) {
  if (n == 0 || rows == 0) return 0;
  const int64_t per = std::max<int64_t>(per_cluster, 1);
  const int64_t k = (static_cast<int64_t>(n) + per - 1) / per;
  return std::clamp<int64_t>(k, 1, static_cast<int64_t>(rows));
}

std::vector<size_t> select_kmeans(const std::vector<data::PromptRecord>& prompts, size_t n, uint64_t seed,
                                  int64_t per_cluster, int threads) {
  n = std::min(n, prompts.size());
  const int64_t k = kmeans_clusters(n, prompts.size(), per_cluster);
  if (k == 0) return {};
  std::vector<std::string> texts;
  texts.reserve(prompts.size());
  for (const auto& p : prompts) texts.push_back(prompt_text(p.messages));
  TfidfEmbedder embedder;
  embedder.fit(texts);
  const Embeddings x = embedder.embed_all(texts, threads);
  KMeansOptions o;
  o.k = k;
  o.seed = seed;
  o.threads = threads;
  const KMeansResult km = kmeans(x, o);
  // Each cluster's members in a seeded random order (its own stream per cluster).
  std::vector<std::vector<size_t>> members(static_cast<size_t>(k));
  for (size_t i = 0; i < prompts.size(); ++i) members[static_cast<size_t>(km.labels[i])].push_back(i);
  for (size_t c = 0; c < members.size(); ++c) Rng::for_index(seed, c, /*stream=*/0x6b6d).shuffle(members[c]);
  std::vector<size_t> out;
  for (size_t round = 0; out.size() < n; ++round)
    for (size_t c = 0; c < members.size() && out.size() < n; ++c)
      if (round < members[c].size()) out.push_back(members[c][round]);
  return out;
}

int64_t instruction_chars(const data::PromptRecord& prompt) {
  int64_t n = 0;
  for (unsigned char ch : prompt_text(prompt.messages)) n += (ch & 0xC0) != 0x80;  // not a continuation byte
  return n;
}

std::vector<size_t> select_longest(const std::vector<data::PromptRecord>& prompts, size_t n) {
  std::vector<int64_t> len(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) len[i] = instruction_chars(prompts[i]);
  std::vector<size_t> order(prompts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return len[a] > len[b]; });
  order.resize(std::min(n, order.size()));
  return order;
}

std::string pool_response(const data::PromptRecord& prompt, const std::string& source) {
  if (!prompt.has_reference)
    throw_invalid("prompt '" + prompt.id + "' has no reference, and this SFT selection trains on the pool's own response",
                  {.file = source, .key = "reference",
                   .hint = "give every pool prompt a \"reference\", or use sft_selection: judge (the winners' answers)"});
  return synth::format_answer(prompt.reference);
}

nlohmann::ordered_json SftSelectionResult::to_json() const {
  nlohmann::ordered_json j = {{"method", sft_selection_name(method)},
                              {"description", sft_selection_description(method)},
                              {"judge_count", judge_count}};
  if (method == SftSelection::KMeans) j["clusters"] = clusters;
  return j;
}

SftSelectionResult select_sft_data(const std::vector<Battle>& battles, const std::vector<data::PromptRecord>& prompts,
                                   const ResponseTable& responses, const std::string& target,
                                   const SftSelectionOptions& opts) {
  std::map<std::string, data::PromptRecord> by_id;
  for (const auto& p : prompts) by_id[p.id] = p;
  SftSelectionResult r;
  r.method = opts.method;
  r.examples = build_sft_data(battles, by_id, responses, target, opts.margin, &r.stats);
  r.judge_count = static_cast<int64_t>(r.examples.size());
  if (opts.method == SftSelection::Judge) return r;

  const size_t n = r.examples.size();
  std::vector<size_t> chosen;
  if (opts.method == SftSelection::Random) chosen = select_random(prompts, n, opts.seed);
  else if (opts.method == SftSelection::KMeans) {
    chosen = select_kmeans(prompts, n, opts.seed, opts.per_cluster, opts.threads);
    r.clusters = kmeans_clusters(n, prompts.size(), opts.per_cluster);
  } else chosen = select_longest(prompts, n);

  r.examples.clear();
  for (size_t i : chosen) {
    const auto& p = prompts[i];
    auto m = p.messages;
    m.push_back({"assistant", pool_response(p, opts.source)});
    r.examples.push_back({p.id, m, "reference", 0});
  }
  // Whose answers the data holds: the pool's references only.
  r.stats.kept = static_cast<int64_t>(r.examples.size());
  r.stats.by_model.clear();
  if (!r.examples.empty()) r.stats.by_model["reference"].chosen = r.stats.kept;
  return r;
}

}  // namespace fw::arena
