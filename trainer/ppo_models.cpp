#include "trainer/ppo_models.h"

#include <filesystem>

#include "core/error.h"
#include "model/checkpoint.h"
#include "model/generation_config.h"
#include "trainer/model_setup.h"

namespace fw::trainer {
namespace fs = std::filesystem;
namespace {

model::LlamaForScore load_frozen_score_model(const std::string& dir, const char* key, at::ScalarType dtype,
                                             at::Device device) {
  if (!model::LlamaConfig::load(dir).is_sequence_classifier())
    throw_invalid(dir + " is not a reward model (its config.json names no ForSequenceClassification architecture)",
                  {.key = key, .hint = "train one with `flywheel rm`"});
  return model::load_score_model(dir, {.dtype = dtype, .device = device});
}

void freeze(torch::nn::Module& m) {
  m.eval();
  for (auto& p : m.parameters()) p.set_requires_grad(false);
}

void check_same_vocabulary(const model::LlamaConfig& policy, const model::LlamaConfig& other, const std::string& key) {
  if (policy.vocab_size != other.vocab_size)
    throw_invalid("the policy has a vocabulary of " + std::to_string(policy.vocab_size) + " tokens but " + key +
                      " has " + std::to_string(other.vocab_size) + "; PPO needs one tokenizer for all models",
                  {.key = key});
}

}  // namespace

PpoModels load_ppo_models(const PpoRecipe& r, const std::optional<CheckpointInfo>& resume, const data::Tokenizer& tok,
                          at::Device device) {
  const at::ScalarType frozen_dtype = r.run.dtype == ComputeDtype::BFloat16 && device.is_cuda() ? at::kBFloat16 : at::kFloat;
  PpoModels m;
  m.policy = load_starting_lm(resume, r.model, tok, device);
  m.reference = model::load_causal_lm(r.ppo.reference_path.empty() ? r.model.path : r.ppo.reference_path,
                                      {.dtype = frozen_dtype, .device = device});
  freeze(*m.reference);
  m.reward = load_frozen_score_model(r.ppo.reward_model_path, "ppo.reward_model_path", frozen_dtype, device);
  freeze(*m.reward);
  const std::string value_start = resume ? (fs::path(resume->path) / kValueModelDir).string()
                                  : !r.ppo.value_model_path.empty() ? r.ppo.value_model_path
                                                                    : r.ppo.reward_model_path;
  m.value = model::load_score_model(value_start, {.dtype = at::kFloat, .device = device});
  check_same_vocabulary(m.policy->config(), m.reference->config(), "ppo.reference_path");
  check_same_vocabulary(m.policy->config(), m.reward->config(), "ppo.reward_model_path");
  check_same_vocabulary(m.policy->config(), m.value->config(), "ppo.value_model_path");
  return m;
}

ExperienceOptions experience_options(const PpoRecipe& r, const data::Tokenizer& tok,
                                     const model::LlamaConfig& policy) {
  ExperienceOptions o;
  o.generate.max_new_tokens = r.ppo.max_new_tokens;
  o.generate.sampling = {.temperature = r.ppo.temperature, .top_k = r.ppo.top_k, .top_p = r.ppo.top_p};
  o.generate.eos_ids = model::stop_token_ids(r.model.path, policy, tok.eos_id());
  o.generate.pad_id = std::max(0, tok.pad_or_eos_id());
  o.generate.stop_strings = r.ppo.stop_strings;
  o.generate.detokenize = [&tok](const std::vector<int64_t>& ids) {
    return tok.decode(std::vector<int32_t>(ids.begin(), ids.end()));
  };
  o.forward_batch_size = r.ppo.forward_batch_size;
  o.missing_eos_penalty = r.ppo.missing_eos_penalty;
  o.kl_estimator = r.ppo.kl_estimator;
  o.whiten_rewards = r.ppo.whiten_rewards;
  o.gamma = r.ppo.gamma;
  o.lam = r.ppo.lam;
  o.dtype = r.run.dtype;
  return o;
}

}  // namespace fw::trainer
