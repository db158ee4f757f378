// The SFT loss of one collated micro-batch, shared by the training step and eval.
#pragma once

#include <string>

#include "data/collate.h"
#include "losses/sft.h"
#include "model/llama.h"

namespace fw::trainer {

// The head runs only at trainable positions (trainer/labelled_logits.h). dtype: the run's
// autocast dtype name ("float32", "bfloat16").
losses::SftLoss sft_micro_batch_loss(model::LlamaForCausalLM& lm, const data::SftBatch& batch, at::Device device,
                                     const std::string& dtype);

}  // namespace fw::trainer
