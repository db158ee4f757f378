// Mean-pooled hidden-state embeddings (see model_embedding.h).
#include "arena/model_embedding.h"

#include <algorithm>
#include <numeric>

#include <torch/torch.h>

#include "core/error.h"
#include "model/checkpoint.h"

namespace fw::arena {

Embeddings embed_token_ids(model::LlamaModel& model, const std::vector<std::vector<int64_t>>& ids,
                           int64_t batch_size, int64_t pad_id) {
  if (batch_size < 1) throw_invalid("model embedding: batch_size must be >= 1", {.key = "batch_size"});
  const int64_t c = model->config().hidden_size;
  Embeddings out(static_cast<int64_t>(ids.size()), c);
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i].empty()) throw_invalid("model embedding: prompt " + std::to_string(i) + " has no token");
  std::vector<size_t> order(ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a].size() < ids[b].size(); });
  const at::Device device = model->embed_tokens->weight.device();
  torch::NoGradGuard no_grad;
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(order.size(), start + static_cast<size_t>(batch_size));
    const auto b = static_cast<int64_t>(end - start);
    int64_t t = 0;
    for (size_t k = start; k < end; ++k) t = std::max<int64_t>(t, static_cast<int64_t>(ids[order[k]].size()));
    at::Tensor input = torch::full({b, t}, pad_id, torch::kLong);   // [B,T] right-padded
    at::Tensor mask = torch::zeros({b, t}, torch::kLong);           // [B,T] 1 = real token
    auto in_a = input.accessor<int64_t, 2>();
    auto m_a = mask.accessor<int64_t, 2>();
    for (size_t k = start; k < end; ++k) {
      const auto& row = ids[order[k]];
      for (size_t j = 0; j < row.size(); ++j) {
        in_a[static_cast<int64_t>(k - start)][static_cast<int64_t>(j)] = row[j];
        m_a[static_cast<int64_t>(k - start)][static_cast<int64_t>(j)] = 1;
      }
    }
    model::ForwardOptions fo;
    fo.attention_mask = mask.to(device);
    const at::Tensor hidden = model->forward(input.to(device), fo).to(torch::kFloat).cpu();  // [B,T,C]
    const at::Tensor m = mask.to(torch::kFloat).unsqueeze(-1);                                // [B,T,1]
    at::Tensor pooled = (hidden * m).sum(1) / m.sum(1);                                       // [B,C]
    pooled = pooled / pooled.norm(2, -1, true).clamp_min(1e-12);
    pooled = pooled.contiguous();
    const float* p = pooled.data_ptr<float>();
    for (size_t k = start; k < end; ++k)
      std::copy(p + static_cast<int64_t>(k - start) * c, p + static_cast<int64_t>(k - start + 1) * c,
                out.row(static_cast<int64_t>(order[k])));
  }
  return out;
}

ModelEmbedder::ModelEmbedder(const std::string& model_dir, ModelEmbeddingOptions opts)
    : opts_(std::move(opts)), tok_(data::Tokenizer::load(model_dir)) {
  template_ = data::load_chat_template(model_dir, opts_.chat_template);
  lm_ = model::load_causal_lm(model_dir, {.dtype = opts_.dtype, .device = opts_.device});
  lm_->eval();
}

std::vector<int64_t> ModelEmbedder::encode(const std::vector<data::Message>& messages) const {
  const std::vector<int32_t> ids = data::encode_chat(tok_, template_, messages, /*add_generation_prompt=*/true).ids;
  const size_t keep = std::min(ids.size(), static_cast<size_t>(std::max<int64_t>(1, opts_.max_len)));
  return std::vector<int64_t>(ids.end() - static_cast<std::ptrdiff_t>(keep), ids.end());
}

Embeddings ModelEmbedder::embed(const std::vector<std::vector<data::Message>>& prompts) {
  std::vector<std::vector<int64_t>> ids;
  ids.reserve(prompts.size());
  for (const auto& p : prompts) ids.push_back(encode(p));
  return embed_token_ids(lm_->model, ids, opts_.batch_size, std::max(0, tok_.pad_or_eos_id()));
}

EmbedFn ModelEmbedder::as_embed_fn() {
  return [this](const std::vector<std::vector<data::Message>>& prompts) { return embed(prompts); };
}

int64_t ModelEmbedder::dim() const { return lm_->config().hidden_size; }

}  // namespace fw::arena
