// The data phase the DPO and reward-model recipes share: the train and held-out pairs of
// a PreferenceDataSection, tokenized, and the step stream over the train pairs.
#pragma once

#include <optional>

#include "data/preference_dataset.h"
#include "dist/process_group.h"
#include "trainer/preference_recipe.h"
#include "trainer/step_stream.h"

namespace fw::trainer {

struct PreferenceData {
  data::PreferenceDataset train;
  std::optional<data::PreferenceDataset> eval;
  int64_t total_steps = 0;  // train.max_steps, or what the epochs give
};

// Loads the pairs (logging their counts) and makes `stream` the step plan over them:
// one pair per row, rows grouped by length, seeded by `seed`, sharded over the ranks.
PreferenceData load_preference_data(const PreferenceDataSection& data, const TrainSection& train,
                                    const data::Tokenizer& tok, const data::ChatTemplate& chat_template, int64_t seed,
                                    std::optional<StepStream>& stream, int rank = 0, int world_size = 1);

// One step's micro-batches of pairs for this rank (the cursor advanced past them), the
// step's pairs on every rank (the loss divides by them), and the last non-empty
// micro-batch (its backward launches the gradient all-reduce).
struct PairStep {
  std::vector<data::MicroBatch> micro;
  int64_t pairs = 0;
  size_t last_batch = 0;
};
PairStep next_pair_step(StepStream& stream, data::DataCursor& cursor, dist::ProcessGroup& pg);

}  // namespace fw::trainer
