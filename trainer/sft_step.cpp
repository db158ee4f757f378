#include "trainer/sft_step.h"

#include "trainer/labelled_logits.h"

namespace fw::trainer {

losses::SftLoss sft_micro_batch_loss(model::LlamaForCausalLM& lm, const data::SftBatch& b, at::Device device,
                                     ComputeDtype dtype) {
  model::ForwardOptions fo{.position_ids = b.position_ids.to(device)};
  if (b.segment_ids.defined()) fo.segment_ids = b.segment_ids.to(device);
  const LabelledLogits l = labelled_logits(lm, b.input_ids, b.labels, fo, device, dtype);
  return losses::sft_loss_sum(l.logits, l.labels);
}

}  // namespace fw::trainer
