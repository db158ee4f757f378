// The SFT loss of one collated micro-batch, shared by the training step and eval.
#pragma once

#include <string>

#include "data/collate.h"
#include "losses/sft.h"
#include "model/llama.h"
#include "trainer/recipe_sections.h"

namespace fw::trainer {

// The head runs only at trainable positions (trainer/labelled_logits.h). dtype: the run's
// compute dtype (bf16 autocast or none).
losses::SftLoss sft_micro_batch_loss(model::LlamaForCausalLM& lm, const data::SftBatch& batch, at::Device device,
                                     ComputeDtype dtype);

}  // namespace fw::trainer
