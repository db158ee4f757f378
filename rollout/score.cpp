#include "rollout/score.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/error.h"
#include "model/onednn_linear.h"

namespace fw::rollout {
namespace {

const auto kLongCpu = at::TensorOptions().dtype(at::kLong);

at::Device device_of(torch::nn::Module& m) { return m.parameters().front().device(); }

// flat_positions / flat_index of rows with these lengths in a [B,T] / [B,R] layout.
void index_responses(ResponseBatch& b) {
  const int64_t B = b.rows, T = b.input_ids.size(1), R = b.max_response;
  const int64_t* p = b.prompt_lengths.data_ptr<int64_t>();
  const int64_t* r = b.response_lengths.data_ptr<int64_t>();
  std::vector<int64_t> positions, index;
  for (int64_t row = 0; row < B; ++row) {
    for (int64_t j = 0; j < r[row]; ++j) {
      positions.push_back(row * T + p[row] + j - 1);
      index.push_back(row * R + j);
    }
  }
  b.flat_positions = at::tensor(positions, kLongCpu);
  b.flat_index = at::tensor(index, kLongCpu);
  b.response_mask = at::arange(R, kLongCpu).unsqueeze(0) < b.response_lengths.unsqueeze(1);
  b.lengths = b.prompt_lengths + b.response_lengths;
}

// [N] values at the response tokens -> [B,R], 0 elsewhere (differentiable in `flat`).
at::Tensor scatter_responses(const at::Tensor& flat, const ResponseBatch& b) {
  at::Tensor out = at::zeros({b.rows * b.max_response}, flat.options());
  return out.index_put({b.flat_index.to(flat.device())}, flat).reshape({b.rows, b.max_response});
}

// The decoder's final hidden states at the response positions: [N,C].
at::Tensor response_hidden(model::LlamaModel& model, const ResponseBatch& b, at::Device device) {
  at::Tensor hidden = model->forward(b.input_ids.to(device));  // [B,T,C]
  return hidden.reshape({-1, hidden.size(-1)}).index_select(0, b.flat_positions.to(device));
}

}  // namespace

ResponseBatch make_response_batch(const std::vector<std::vector<int64_t>>& prompts,
                                  const std::vector<std::vector<int64_t>>& responses, int64_t pad_id) {
  if (prompts.size() != responses.size())
    throw_invalid("make_response_batch: " + std::to_string(prompts.size()) + " prompts but " +
                  std::to_string(responses.size()) + " responses");
  ResponseBatch b;
  b.rows = static_cast<int64_t>(prompts.size());
  if (b.rows == 0) throw_invalid("make_response_batch: no rows");
  int64_t T = 0;
  std::vector<int64_t> p_len(b.rows), r_len(b.rows);
  for (int64_t i = 0; i < b.rows; ++i) {
    if (prompts[i].empty() || responses[i].empty())
      throw_invalid("make_response_batch: row " + std::to_string(i) + " has an empty prompt or response");
    p_len[i] = static_cast<int64_t>(prompts[i].size());
    r_len[i] = static_cast<int64_t>(responses[i].size());
    T = std::max(T, p_len[i] + r_len[i]);
    b.max_response = std::max(b.max_response, r_len[i]);
  }
  b.input_ids = at::full({b.rows, T}, pad_id, kLongCpu);
  b.responses = at::full({b.rows, b.max_response}, pad_id, kLongCpu);
  for (int64_t i = 0; i < b.rows; ++i) {
    b.input_ids[i].narrow(0, 0, p_len[i]).copy_(at::tensor(prompts[i], kLongCpu));
    const at::Tensor resp = at::tensor(responses[i], kLongCpu);
    b.input_ids[i].narrow(0, p_len[i], r_len[i]).copy_(resp);
    b.responses[i].narrow(0, 0, r_len[i]).copy_(resp);
  }
  b.prompt_lengths = at::tensor(p_len, kLongCpu);
  b.response_lengths = at::tensor(r_len, kLongCpu);
  index_responses(b);
  return b;
}

ResponseBatch ResponseBatch::select(const std::vector<int64_t>& subset) const {
  const at::Tensor idx = at::tensor(subset, kLongCpu);
  ResponseBatch b;
  b.rows = static_cast<int64_t>(subset.size());
  b.prompt_lengths = prompt_lengths.index_select(0, idx);
  b.response_lengths = response_lengths.index_select(0, idx);
  const int64_t T = (b.prompt_lengths + b.response_lengths).max().item<int64_t>();
  b.max_response = b.response_lengths.max().item<int64_t>();
  b.input_ids = input_ids.index_select(0, idx).narrow(1, 0, T).contiguous();
  b.responses = responses.index_select(0, idx).narrow(1, 0, b.max_response).contiguous();
  index_responses(b);
  return b;
}

ResponseLogprobs response_logprobs(model::LlamaForCausalLM& lm, const ResponseBatch& b, double temperature,
                                   bool with_entropy) {
  const at::Device device = device_of(*lm);
  at::Tensor logits = lm->logits(response_hidden(lm->model, b, device)).to(at::kFloat);  // [N,V]
  if (temperature > 0) logits = logits / temperature;
  const at::Tensor logp = at::log_softmax(logits, -1);
  const at::Tensor tokens = b.responses.reshape({-1}).index_select(0, b.flat_index).to(device);  // [N]
  ResponseLogprobs out;
  out.logprobs = scatter_responses(logp.gather(1, tokens.unsqueeze(1)).squeeze(1), b);
  if (with_entropy) {
    at::NoGradGuard no_grad;
    const at::Tensor detached = logp.detach();
    out.entropy = scatter_responses(-(detached.exp() * detached).sum(-1), b);
  }
  return out;
}

at::Tensor response_values(model::LlamaForScore& vm, const ResponseBatch& b) {
  const at::Device device = device_of(*vm);
  at::Tensor v = model::linear_forward(*vm->score, response_hidden(vm->model, b, device)).select(-1, 0).to(at::kFloat);  // [N]
  return scatter_responses(v, b);
}

at::Tensor sequence_scores(model::LlamaForScore& rm, const ResponseBatch& b) {
  const at::Device device = device_of(*rm);
  return rm->score_last(b.input_ids.to(device), b.lengths).to(at::kFloat);
}

}  // namespace fw::rollout
