#include "flywheel/validation_split.h"

#include "arena/embeddings.h"
#include "core/error.h"
#include "core/rng.h"

namespace fw::flywheel {

ValidationSplit split_validation(const std::vector<data::PromptRecord>& pool, int64_t n, uint64_t seed,
                                 bool decontaminate) {
  ValidationSplit s;
  if (n > static_cast<int64_t>(pool.size()))
    throw_invalid("the prompt pool has " + std::to_string(pool.size()) + " prompts (after decontamination); " +
                      "the validation split wants " + std::to_string(n),
                  {.key = "eval.validation_prompts", .hint = "a larger pool or fewer validation prompts"});
  if (n <= 0) {
    s.rest = pool;
    return s;
  }
  // Its own stream: the split of the rest into D0 and the slices draws from `seed` too.
  std::vector<size_t> order(pool.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng rng = Rng::for_index(seed, 0, /*stream=*/0x76616c);  // "val"
  rng.shuffle(order);
  std::vector<bool> held(pool.size(), false);
  for (int64_t i = 0; i < n; ++i) {
    held[order[static_cast<size_t>(i)]] = true;
    s.validation.push_back(pool[order[static_cast<size_t>(i)]]);
  }
  for (size_t i = 0; i < pool.size(); ++i)
    if (!held[i]) s.rest.push_back(pool[i]);
  if (!decontaminate) return s;

  std::vector<std::string> rest_text, validation_text;
  for (const auto& p : s.rest) rest_text.push_back(arena::prompt_text(p.messages));
  for (const auto& p : s.validation) validation_text.push_back(arena::prompt_text(p.messages));
  arena::DecontaminateOptions o;
  o.neighbours = 0;  // exact and near duplicates, as against the test set; no embedding model
  const auto report = arena::find_contamination(rest_text, {}, validation_text, {}, o);
  std::vector<data::PromptRecord> kept;
  for (size_t i = 0; i < s.rest.size(); ++i)
    if (report.hits[i].reason == arena::Contamination::None) kept.push_back(s.rest[i]);
  s.rest = std::move(kept);
  s.removed = report.counts;
  return s;
}

}  // namespace fw::flywheel
