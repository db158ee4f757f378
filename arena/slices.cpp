#include "arena/slices.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "arena/verdict.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/rng.h"

namespace fw::arena {
namespace {

// Means of judge scores are not exact in binary (mean(7.3, 6.7) - 4 may come out a hair
// under 3), so a margin within this of K counts as reaching it.
constexpr double kMarginTolerance = 1e-9;

bool reaches(double gap, double k) { return gap >= k - kMarginTolerance; }

// One usable battle: both models' scores, each the mean over the battle's games.
struct Scored {
  const Battle* battle = nullptr;
  double score_a = 0, score_b = 0;

  double score_of(const std::string& model) const { return model == battle->model_a ? score_a : score_b; }
};

// The battles grouped by prompt, in the order prompts first appear; unparseable ones left
// out (and counted).
struct ByPrompt {
  std::vector<std::string> order;
  std::map<std::string, std::vector<Scored>> battles;
};

// Scores of a battle with a verdict; nullopt when a game is unparseable or there is none
// (combine_games' rule for "no verdict").
std::optional<Scored> score_battle(const Battle& b) {
  if (!combine_games(b.games, {})) return std::nullopt;
  Scored s{&b, 0, 0};
  for (const Game& g : b.games) {
    s.score_a += *g.score_a;
    s.score_b += *g.score_b;
  }
  s.score_a /= static_cast<double>(b.games.size());
  s.score_b /= static_cast<double>(b.games.size());
  return s;
}

// Resets `stats`, checks every battle's prompt exists, counts battles / prompts /
// unparseable, and gives every model of a usable battle a (zero) row in by_model.
ByPrompt group_battles(const std::vector<Battle>& battles, const std::map<std::string, data::PromptRecord>& prompts,
                       SliceStats& stats) {
  stats = SliceStats{};
  ByPrompt out;
  for (const Battle& b : battles) {
    if (!prompts.count(b.question_id))
      throw_invalid("battle on prompt '" + b.question_id + "' (" + b.model_a + " vs " + b.model_b +
                        ") whose question_id is not in the prompts",
                    {.key = "question_id", .hint = "pass the prompt files the battles were run on"});
    ++stats.battles;
    auto [it, fresh] = out.battles.try_emplace(b.question_id);
    if (fresh) out.order.push_back(b.question_id);
    std::optional<Scored> s = score_battle(b);
    if (!s) {
      ++stats.skipped_unparseable;
      continue;
    }
    it->second.push_back(*s);
    stats.by_model[b.model_a];
    stats.by_model[b.model_b];
  }
  stats.prompts = static_cast<int64_t>(out.order.size());
  return out;
}

const std::string* find_response(const ResponseTable& responses, const std::string& question_id,
                                 const std::string& model) {
  auto it = responses.find({question_id, model});
  return it == responses.end() ? nullptr : &it->second;
}

// Looks up both responses of a preference pair; false (the reason counted) when one is
// absent or they are the same text.
bool pair_responses(const ResponseTable& responses, const std::string& question_id, const std::string& chosen_model,
                    const std::string& rejected_model, SliceStats& stats, const std::string*& chosen,
                    const std::string*& rejected) {
  chosen = find_response(responses, question_id, chosen_model);
  rejected = find_response(responses, question_id, rejected_model);
  if (!chosen || !rejected) {
    ++stats.skipped_missing_response;
    return false;
  }
  if (*chosen == *rejected) {
    ++stats.skipped_identical;
    return false;
  }
  return true;
}

PreferenceRecord make_preference(const data::PromptRecord& prompt, const std::string& chosen,
                                 const std::string& rejected, const std::string& chosen_model,
                                 const std::string& rejected_model, double gap, SliceStats& stats) {
  ++stats.kept;
  ++stats.by_model[chosen_model].chosen;
  ++stats.by_model[rejected_model].rejected;
  return {prompt.id, prompt.messages, chosen, rejected, chosen_model, rejected_model, gap};
}

// A competitor that beat the target in one battle on the prompt.
struct Winning {
  std::string model;
  double score = 0, margin = 0;
};

// Order of preference among the winners: best score, then larger margin, then name.
bool better(const Winning& x, const Winning& y) {
  if (x.score != y.score) return x.score > y.score;
  if (x.margin != y.margin) return x.margin > y.margin;
  return x.model < y.model;
}

nlohmann::ordered_json messages_json(const std::vector<data::Message>& messages) {
  auto out = nlohmann::ordered_json::array();
  for (const data::Message& m : messages) out.push_back({{"role", m.role}, {"content", m.content}});
  return out;
}

nlohmann::ordered_json assistant_turn(const std::string& content) {
  return nlohmann::ordered_json::array({{{"role", "assistant"}, {"content", content}}});
}

// One record per line, the file replaced atomically.
void write_jsonl_atomic(const std::string& path, const std::vector<nlohmann::ordered_json>& records) {
  std::string bytes;
  for (const auto& r : records) {
    bytes += r.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    bytes += '\n';
  }
  write_file_atomic(path, bytes);
}

std::string id_string(const nlohmann::json& v, const char* key) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return v.dump();
  throw_invalid(std::string("\"value.") + key + "\" must be a string", {.key = std::string("value.") + key});
}

}  // namespace

nlohmann::ordered_json SliceStats::to_json() const {
  nlohmann::ordered_json j;
  j["battles"] = battles;
  j["skipped_unparseable"] = skipped_unparseable;
  j["skipped_missing_response"] = skipped_missing_response;
  j["skipped_identical"] = skipped_identical;
  j["below_margin"] = below_margin;
  j["prompts"] = prompts;
  j["kept"] = kept;
  auto models = nlohmann::ordered_json::object();
  for (const auto& [model, c] : by_model) models[model] = {{"chosen", c.chosen}, {"rejected", c.rejected}};
  j["by_model"] = std::move(models);
  return j;
}

ResponseTable read_response_table(const std::string& responses_jsonl) {
  ResponseTable table;
  for_each_jsonl(responses_jsonl, [&](const nlohmann::json& record, long) {
    auto value = record.find("value");
    if (!record.is_object() || value == record.end() || !value->is_object())
      throw_invalid("a response record must be {\"key\", \"value\": {...}}", {.key = "value"});
    for (const char* key : {"question_id", "model", "content"})
      if (!value->contains(key)) throw_invalid(std::string("missing \"value.") + key + "\"", {.key = std::string("value.") + key});
    const auto& content = (*value)["content"];
    if (!content.is_string()) throw_invalid("\"value.content\" must be a string", {.key = "value.content"});
    table[{id_string((*value)["question_id"], "question_id"), id_string((*value)["model"], "model")}] =
        content.get<std::string>();
  });
  return table;
}

std::vector<SftExample> build_sft_data(const std::vector<Battle>& battles,
                                       const std::map<std::string, data::PromptRecord>& prompts,
                                       const ResponseTable& responses, const std::string& target, double margin,
                                       SliceStats* stats) {
  SliceStats local;
  SliceStats& st = stats ? *stats : local;
  const ByPrompt grouped = group_battles(battles, prompts, st);
  std::vector<SftExample> out;
  for (const std::string& qid : grouped.order) {
    bool lost = false;
    std::vector<Winning> winners;  // those that beat the target by >= margin
    for (const Scored& s : grouped.battles.at(qid)) {
      const Battle& b = *s.battle;
      if (b.model_a != target && b.model_b != target) continue;  // competitors among themselves
      const bool target_is_a = b.model_a == target;
      // A tie is not a loss; only the battle's winner counts as beating the target.
      if (b.winner != (target_is_a ? Winner::ModelB : Winner::ModelA)) continue;
      lost = true;
      const std::string& other = target_is_a ? b.model_b : b.model_a;
      const double gap = s.score_of(other) - s.score_of(target);
      if (reaches(gap, margin)) winners.push_back({other, s.score_of(other), gap});
    }
    if (!lost) continue;
    if (winners.empty()) {
      ++st.below_margin;
      continue;
    }
    const Winning& best = *std::min_element(winners.begin(), winners.end(), better);
    // Selection is on scores alone; an absent response skips the prompt rather than
    // falling back to a worse winner.
    const std::string* reply = find_response(responses, qid, best.model);
    if (!reply) {
      ++st.skipped_missing_response;
      continue;
    }
    SftExample ex;
    ex.question_id = qid;
    ex.messages = prompts.at(qid).messages;
    ex.messages.push_back({"assistant", *reply});
    ex.source_model = best.model;
    ex.margin = best.margin;
    out.push_back(std::move(ex));
    ++st.kept;
    ++st.by_model[best.model].chosen;
  }
  return out;
}

namespace {

// Each model's mean score over its battles on one prompt, best first; equal means in name
// order, so the best is the first name and the worst the last among its ties.
std::vector<std::pair<std::string, double>> ranked_means(const std::vector<Scored>& scored) {
  std::map<std::string, std::pair<double, int>> sums;
  for (const Scored& s : scored) {
    for (const std::string* m : {&s.battle->model_a, &s.battle->model_b}) {
      auto& [sum, n] = sums[*m];
      sum += s.score_of(*m);
      ++n;
    }
  }
  std::vector<std::pair<std::string, double>> ranked;
  for (const auto& [m, sn] : sums) ranked.emplace_back(m, sn.first / sn.second);
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
  return ranked;
}

}  // namespace

DpoPairs dpo_pairs_from_name(const std::string& name) { return enum_from_name_or_throw<DpoPairs>(name, "dpo_pairs"); }

std::string dpo_pairs_name(DpoPairs pairs) { return std::string(name_of(pairs)); }

namespace {

// One DPO pair a rule picks on a prompt: the chosen and rejected models and their gap.
struct Pick {
  std::string chosen, rejected;
  double gap = 0;
};

// The DPO builders' common walk: per prompt (in first-seen order), the models' mean scores
// ranked; `pick` returns the pair or nothing (counting below_margin itself); the pair's
// responses are looked up and the record made.
template <class PickFn>
std::vector<PreferenceRecord> pairs_by_prompt(const std::vector<Battle>& battles,
                                              const std::map<std::string, data::PromptRecord>& prompts,
                                              const ResponseTable& responses, SliceStats* stats, PickFn pick) {
  SliceStats local;
  SliceStats& st = stats ? *stats : local;
  const ByPrompt grouped = group_battles(battles, prompts, st);
  std::vector<PreferenceRecord> out;
  for (const std::string& qid : grouped.order) {
    const std::optional<Pick> p = pick(ranked_means(grouped.battles.at(qid)), st);
    if (!p) continue;
    const std::string *chosen = nullptr, *rejected = nullptr;
    if (!pair_responses(responses, qid, p->chosen, p->rejected, st, chosen, rejected)) continue;
    out.push_back(make_preference(prompts.at(qid), *chosen, *rejected, p->chosen, p->rejected, p->gap, st));
  }
  return out;
}

}  // namespace

std::vector<PreferenceRecord> build_dpo_data(const std::vector<Battle>& battles,
                                             const std::map<std::string, data::PromptRecord>& prompts,
                                             const ResponseTable& responses, double margin, SliceStats* stats) {
  return pairs_by_prompt(battles, prompts, responses, stats, [&](const auto& ranked, SliceStats& st) -> std::optional<Pick> {
    if (ranked.size() < 2) return std::nullopt;  // no usable battle on this prompt
    const auto& [best, best_score] = ranked.front();
    const auto& [worst, worst_score] = ranked.back();
    if (!reaches(best_score - worst_score, margin)) {
      ++st.below_margin;
      return std::nullopt;
    }
    return Pick{best, worst, best_score - worst_score};
  });
}

std::vector<PreferenceRecord> build_on_policy_dpo_data(const std::vector<Battle>& battles,
                                                       const std::map<std::string, data::PromptRecord>& prompts,
                                                       const ResponseTable& responses, const std::string& target,
                                                       double margin, bool both_directions, SliceStats* stats) {
  return pairs_by_prompt(battles, prompts, responses, stats, [&](const auto& ranked, SliceStats& st) -> std::optional<Pick> {
    const auto self = std::find_if(ranked.begin(), ranked.end(), [&](const auto& m) { return m.first == target; });
    if (self == ranked.end() || ranked.size() < 2) return std::nullopt;  // the target has no usable battle here
    const auto& [best, best_score] = ranked.front().first == target ? ranked[1] : ranked.front();
    const auto& [worst, worst_score] = ranked.back().first == target ? ranked[ranked.size() - 2] : ranked.back();
    // The target lost by K: its answer is rejected. Otherwise, with both directions, it beat
    // the worst by K: its answer is chosen.
    if (reaches(best_score - self->second, margin)) return Pick{best, target, best_score - self->second};
    if (both_directions && reaches(self->second - worst_score, margin)) return Pick{target, worst, self->second - worst_score};
    ++st.below_margin;
    return std::nullopt;
  });
}

std::vector<PreferenceRecord> build_rm_data(const std::vector<Battle>& battles,
                                            const std::map<std::string, data::PromptRecord>& prompts,
                                            const ResponseTable& responses, SliceStats* stats) {
  SliceStats local;
  SliceStats& st = stats ? *stats : local;
  group_battles(battles, prompts, st);  // checks and counts
  // In battle order (a battle is one example, not a prompt).
  std::vector<PreferenceRecord> out;
  for (const Battle& b : battles) {
    const std::optional<Scored> s = score_battle(b);
    if (!s) continue;  // counted above
    if (b.winner != Winner::ModelA && b.winner != Winner::ModelB) continue;  // ties teach no preference
    const bool a_won = b.winner == Winner::ModelA;
    const std::string& winner = a_won ? b.model_a : b.model_b;
    const std::string& loser = a_won ? b.model_b : b.model_a;
    const std::string *chosen = nullptr, *rejected = nullptr;
    if (!pair_responses(responses, b.question_id, winner, loser, st, chosen, rejected)) continue;
    out.push_back(make_preference(prompts.at(b.question_id), *chosen, *rejected, winner, loser,
                                  s->score_of(winner) - s->score_of(loser), st));
  }
  return out;
}

void write_sft_examples(const std::string& path, const std::vector<SftExample>& examples) {
  std::vector<nlohmann::ordered_json> records;
  for (const SftExample& e : examples) {
    nlohmann::ordered_json j;
    j["messages"] = messages_json(e.messages);
    j["id"] = e.question_id;
    j["source_model"] = e.source_model;
    j["margin"] = e.margin;
    records.push_back(std::move(j));
  }
  write_jsonl_atomic(path, records);
}

void write_preference_records(const std::string& path, const std::vector<PreferenceRecord>& prefs) {
  std::vector<nlohmann::ordered_json> records;
  for (const PreferenceRecord& r : prefs) {
    nlohmann::ordered_json j;
    j["prompt"] = messages_json(r.prompt);
    j["chosen"] = assistant_turn(r.chosen);
    j["rejected"] = assistant_turn(r.rejected);
    j["id"] = r.question_id;
    j["chosen_model"] = r.chosen_model;
    j["rejected_model"] = r.rejected_model;
    j["score_gap"] = r.score_gap;  // not "margin": the RM loss would read it as one
    records.push_back(std::move(j));
  }
  write_jsonl_atomic(path, records);
}

void write_prompt_records(const std::string& path, const std::vector<data::PromptRecord>& prompts) {
  std::vector<nlohmann::ordered_json> records;
  for (const data::PromptRecord& p : prompts) {
    nlohmann::ordered_json j;
    j["id"] = p.id;
    j["prompt"] = messages_json(p.messages);
    j["category"] = p.category;
    if (p.has_reference) j["reference"] = p.reference;
    records.push_back(std::move(j));
  }
  write_jsonl_atomic(path, records);
}

PoolSplit split_pool(const std::vector<data::PromptRecord>& pool, int64_t d0_size, int64_t slice_size,
                     int64_t num_slices, uint64_t seed) {
  if (d0_size < 0 || slice_size < 0 || num_slices < 0)
    throw_invalid("pool split sizes must be >= 0 (d0 " + std::to_string(d0_size) + ", slice " +
                  std::to_string(slice_size) + ", slices " + std::to_string(num_slices) + ")");
  const int64_t needed = d0_size + num_slices * slice_size;
  const auto have = static_cast<int64_t>(pool.size());
  if (have < needed)
    throw_invalid("the prompt pool has " + std::to_string(have) + " prompts; the split needs " +
                      std::to_string(needed) + " (D0 " + std::to_string(d0_size) + " + " +
                      std::to_string(num_slices) + " slices of " + std::to_string(slice_size) + ")",
                  {.hint = "a larger pool, or smaller d0_size / slice_size / fewer slices"});
  // Shuffle indices, not records: Rng::shuffle is Fisher–Yates over uniform_int, the same
  // permutation with every standard library.
  std::vector<size_t> order(pool.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng rng(seed);
  rng.shuffle(order);
  auto take = [&](int64_t from, int64_t n) {
    std::vector<data::PromptRecord> part;
    part.reserve(static_cast<size_t>(n));
    for (int64_t i = from; i < from + n; ++i) part.push_back(pool[order[static_cast<size_t>(i)]]);
    return part;
  };
  PoolSplit split;
  split.d0 = take(0, d0_size);
  for (int64_t k = 0; k < num_slices; ++k) split.slices.push_back(take(d0_size + k * slice_size, slice_size));
  return split;
}

}  // namespace fw::arena
