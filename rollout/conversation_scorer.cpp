#include "rollout/conversation_scorer.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>

#include "core/error.h"
#include "model/checkpoint.h"

namespace fw::rollout {

ConversationScorer::ConversationScorer(model::LlamaForScore rm, data::Tokenizer tok, data::ChatTemplate tmpl,
                                       c10::Device device, int64_t batch_size)
    : rm_(std::move(rm)), tok_(std::move(tok)), tmpl_(tmpl), device_(device), batch_size_(batch_size) {}

ConversationScorer ConversationScorer::load(const std::string& model_dir, const ConversationScorerOptions& opts) {
  if (opts.batch_size < 1) throw_invalid("batch size must be at least 1", {.key = "batch_size"});
  auto rm = model::load_score_model(model_dir, {.dtype = opts.dtype, .device = opts.device});
  if (!rm->config().is_sequence_classifier())
    throw_invalid("not a reward model (config.json architecture is " + rm->config().architecture + ")",
                  {.file = model_dir, .hint = "train one with `flywheel rm`"});
  rm->eval();
  const data::ChatTemplate tmpl = data::load_chat_template(model_dir, opts.template_name).with_kwargs(opts.template_kwargs);
  return ConversationScorer(rm, data::Tokenizer::load(model_dir), tmpl, opts.device, opts.batch_size);
}

std::vector<double> ConversationScorer::score(const std::vector<std::vector<data::Message>>& convs) {
  std::vector<double> out;
  out.reserve(convs.size());
  at::NoGradGuard no_grad;
  const int64_t pad = std::max(0, tok_.pad_or_eos_id());
  for (size_t start = 0; start < convs.size(); start += static_cast<size_t>(batch_size_)) {
    const size_t end = std::min(convs.size(), start + static_cast<size_t>(batch_size_));
    std::vector<std::vector<int32_t>> ids;
    int64_t T = 1;
    for (size_t i = start; i < end; ++i) {
      ids.push_back(data::encode_chat(tok_, tmpl_, convs[i]).ids);
      T = std::max<int64_t>(T, static_cast<int64_t>(ids.back().size()));
    }
    const int64_t B = static_cast<int64_t>(ids.size());
    at::Tensor input = at::full({B, T}, pad, at::kLong);  // [B,T], right-padded
    std::vector<int64_t> lengths;
    for (int64_t b = 0; b < B; ++b) {
      std::vector<int64_t> row(ids[b].begin(), ids[b].end());
      input[b].narrow(0, 0, static_cast<int64_t>(row.size())).copy_(at::tensor(row, at::kLong));
      lengths.push_back(static_cast<int64_t>(row.size()));
    }
    at::Tensor s = rm_->score_last(input.to(device_), at::tensor(lengths, at::kLong)).to(at::kCPU, at::kDouble);
    for (int64_t b = 0; b < B; ++b) out.push_back(s[b].item<double>());
  }
  return out;
}

}  // namespace fw::rollout
