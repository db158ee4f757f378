// The validation split (eval.validation_prompts): prompts held out of the pool, before D0
// and the slices are drawn, on which each iteration's snapshots battle to choose the one
// that goes on. The offline test set then only reports (choosing on it would quote the
// best of several draws). The rest of the pool loses its exact and near duplicates of
// validation prompts, as the pool loses those of test prompts, so no stage trains on a
// prompt it is then chosen on.
#pragma once

#include <cstdint>
#include <vector>

#include "arena/decontaminate.h"
#include "data/prompt_dataset.h"

namespace fw::flywheel {

struct ValidationSplit {
  std::vector<data::PromptRecord> validation;  // in the seeded draw's order
  std::vector<data::PromptRecord> rest;        // the pool's other prompts, in the pool's order
  arena::ContaminationCounts removed;          // of the rest, as duplicates of validation prompts
};

// Draws `n` prompts (seeded) from `pool`; with `decontaminate`, drops the rest's exact and
// near duplicates of them. n = 0: no validation, the pool as it is. Throws fw::Error
// (InvalidInput, key eval.validation_prompts) when the pool has fewer than n prompts.
ValidationSplit split_validation(const std::vector<data::PromptRecord>& pool, int64_t n, uint64_t seed,
                                 bool decontaminate);

}  // namespace fw::flywheel
