#include "trainer/sft_step.h"

#include <ATen/ATen.h>

#include "trainer/setup.h"

namespace fw::trainer {

losses::SftLoss sft_micro_batch_loss(model::LlamaForCausalLM& lm, const data::SftBatch& b, at::Device device,
                                     const std::string& dtype) {
  const at::Tensor labels = b.labels.to(device).reshape({-1});  // [B*T]
  const at::Tensor rows = (labels != losses::kIgnoreIndex).nonzero().squeeze(1);  // [N]
  at::Tensor logits;
  {
    AutocastGuard autocast(device, dtype);
    model::ForwardOptions fo{.position_ids = b.position_ids.to(device)};
    if (b.segment_ids.defined()) fo.segment_ids = b.segment_ids.to(device);
    at::Tensor hidden = lm->model(b.input_ids.to(device), fo);  // [B,T,C]
    hidden = hidden.reshape({-1, hidden.size(-1)}).index_select(0, rows);  // [N,C]
    logits = lm->logits(hidden);  // [N,V]
  }
  return losses::sft_loss_sum(logits, labels.index_select(0, rows));
}

}  // namespace fw::trainer
