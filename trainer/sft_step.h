// The SFT loss of one collated micro-batch, shared by the training step and eval.
#pragma once

#include <string>

#include "data/collate.h"
#include "losses/sft.h"
#include "model/llama.h"

namespace fw::trainer {

// Decoder forward over the whole batch, then the LM head (hidden -> vocab, for a 32k
// vocabulary a fifth of a 100M model's FLOPs) only at the positions the loss reads:
// prompt and padding positions never reach it. Same loss and gradients as the head over
// every position, less work. dtype: the run's autocast dtype name ("float32", "bfloat16").
losses::SftLoss sft_micro_batch_loss(model::LlamaForCausalLM& lm, const data::SftBatch& batch, at::Device device,
                                     const std::string& dtype);

}  // namespace fw::trainer
