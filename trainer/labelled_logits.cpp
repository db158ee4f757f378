#include "trainer/labelled_logits.h"

#include <ATen/ATen.h>

#include "losses/logprobs.h"
#include "losses/sft.h"
#include "trainer/setup.h"

namespace fw::trainer {

LabelledLogits labelled_logits(model::LlamaForCausalLM& lm, const at::Tensor& input_ids, const at::Tensor& labels,
                               const model::ForwardOptions& opts, at::Device device, ComputeDtype dtype) {
  const int64_t T = labels.size(1);
  const at::Tensor flat_labels = labels.to(device).reshape({-1});                            // [B*T]
  const at::Tensor positions = (flat_labels != losses::kIgnoreIndex).nonzero().squeeze(1);  // [N]
  LabelledLogits out;
  out.num_rows = labels.size(0);
  out.labels = flat_labels.index_select(0, positions);
  out.rows = at::floor_divide(positions, T);
  AutocastGuard autocast(device, dtype);
  at::Tensor hidden = lm->model(input_ids.to(device), opts);                   // [B,T,C]
  hidden = hidden.reshape({-1, hidden.size(-1)}).index_select(0, positions);  // [N,C]
  out.logits = lm->logits(hidden);                                             // [N,V]
  return out;
}

at::Tensor labelled_sequence_logps(const LabelledLogits& l) {
  at::Tensor token = losses::gather_logprobs(l.logits.unsqueeze(0), l.labels.unsqueeze(0)).squeeze(0);  // [N]
  return at::zeros({l.num_rows}, token.options()).index_add_(0, l.rows, token);
}

}  // namespace fw::trainer
