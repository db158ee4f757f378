#include "trainer/model_setup.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/strings.h"
#include "data/chat/jinja_chat.h"
#include "data/sft_dataset.h"
#include "model/checkpoint.h"

namespace fw::trainer {
namespace fs = std::filesystem;

data::ChatTemplate resolve_chat_template(const std::string& name, const std::string& model_path,
                                         const nlohmann::ordered_json& kwargs) {
  try {
    return data::load_chat_template(model_path, name).with_kwargs(kwargs);
  } catch (const Error& e) {
    if (e.context().key != "chat_template_kwargs") throw;
    ErrorContext ctx = e.context();
    ctx.key = "model.chat_template_kwargs";
    throw Error(e.kind(), e.message(), ctx);
  }
}

data::Tokenizer prepare_tokenizer(const TokenizerSection& section, const std::string& model_path,
                                  const std::vector<std::string>& train_files, const data::ChatTemplate& chat_template,
                                  const std::string& cache_path) {
  if (!section.path.empty()) return data::Tokenizer::load(section.path);
  if (section.train_vocab_size == 0) {
    if (model_path.empty())
      throw_invalid("no tokenizer: set tokenizer.path, a model.path with tokenizer.model, or tokenizer.train_vocab_size",
                    {.key = "tokenizer"});
    return data::Tokenizer::load(model_path);
  }
  if (fs::exists(cache_path)) return data::Tokenizer::load(cache_path);
  data::TrainOptions t;
  t.sentences = data::collect_sft_texts(train_files);
  if (t.sentences.empty()) {
    if (train_files.size() == 1)
      throw_invalid("no message or prompt text to train the tokenizer on (an empty file?)",
                    {.file = train_files.front(), .key = "data.train"});
    throw_invalid("no message or prompt text to train the tokenizer on in " + join(train_files, ", ") +
                      " (empty files?)", {.key = "data.train"});
  }
  t.vocab_size = static_cast<int>(section.train_vocab_size);
  t.model_type = section.train_model_type;
  t.extra_flags = {{"hard_vocab_limit", "false"}};  // a small corpus may support fewer pieces
  if (chat_template == data::TemplateKind::ChatMl) t.user_defined_symbols = {"<|im_start|>", "<|im_end|>"};
  fs::create_directories(fs::path(cache_path).parent_path());
  t.model_path = cache_path;
  log::info("training a " + std::string(data::sp_model_type_name(t.model_type)) + " sentencepiece tokenizer (up to " +
            std::to_string(t.vocab_size) + " pieces) on " +
            std::to_string(t.sentences.size()) + " texts");
  data::Tokenizer::train(t);
  return data::Tokenizer::load(cache_path);
}

model::LlamaConfig scratch_config(const ScratchModelSection& s, const data::Tokenizer& tok) {
  model::LlamaConfig c;
  c.vocab_size = tok.vocab_size();
  c.hidden_size = s.hidden_size;
  c.intermediate_size = s.intermediate_size;
  c.num_hidden_layers = s.num_hidden_layers;
  c.num_attention_heads = s.num_attention_heads;
  c.num_key_value_heads = s.num_key_value_heads;
  c.head_dim = s.hidden_size / s.num_attention_heads;
  c.max_position_embeddings = s.max_position_embeddings;
  c.rope.theta = s.rope_theta;
  c.tie_word_embeddings = s.tie_word_embeddings;
  if (tok.bos_id() >= 0) c.bos_token_id = tok.bos_id();
  if (tok.eos_id() >= 0) c.eos_token_ids = {tok.eos_id()};
  if (tok.pad_id() >= 0) c.pad_token_id = tok.pad_id();
  c.validate("model.from_scratch");
  return c;
}

void save_tokenizer_files(const data::Tokenizer& tok, const data::ChatTemplate& chat_template, const std::string& dir) {
  fs::create_directories(dir);
  tok.save((fs::path(dir) / tok.file_name()).string());
  nlohmann::ordered_json cfg;
  const bool json = tok.format() == data::TokenizerFormat::TokenizerJson;
  cfg["tokenizer_class"] = json ? "PreTrainedTokenizerFast" : "LlamaTokenizer";
  auto piece = [&](int32_t id) { return id >= 0 ? nlohmann::ordered_json(tok.id_to_piece(id)) : nlohmann::ordered_json(nullptr); };
  cfg["bos_token"] = piece(tok.bos_id());
  cfg["eos_token"] = piece(tok.eos_id());
  cfg["unk_token"] = piece(tok.unk_id());
  cfg["pad_token"] = piece(tok.pad_id());
  cfg["add_bos_token"] = false;  // the chat template writes bos itself
  cfg["add_eos_token"] = false;
  if (!json) cfg["legacy"] = true;
  cfg["chat_template"] = chat_template.is_jinja() ? chat_template.jinja().source()
                                                  : data::hf_jinja_template(chat_template.kind());
  write_file_atomic((fs::path(dir) / "tokenizer_config.json").string(), cfg.dump(2) + "\n");
}

model::LlamaForCausalLM load_starting_lm(const std::optional<CheckpointInfo>& resume, const ModelSection& section,
                                         const data::Tokenizer& tok, at::Device device) {
  model::LlamaForCausalLM lm{nullptr};
  if (resume || !section.path.empty()) {
    lm = model::load_causal_lm(resume ? resume->path : section.path, {.dtype = at::kFloat, .device = device});
  } else {
    lm = model::LlamaForCausalLM(scratch_config(section.from_scratch, tok));
    model::init_weights(*lm, section.from_scratch.init_std);
    lm->to(device);
  }
  if (lm->config().vocab_size < tok.vocab_size())
    throw_invalid("the tokenizer has " + std::to_string(tok.vocab_size()) + " tokens but the model only " +
                      std::to_string(lm->config().vocab_size),
                  {.key = "tokenizer"});
  return lm;
}

std::function<void(const std::string& dir)> tokenizer_writer(const TokenizerSection& section,
                                                              const std::string& model_path,
                                                              const data::Tokenizer& tok,
                                                              const data::ChatTemplate& chat_template) {
  if (section.path.empty() && section.train_vocab_size == 0)
    return [model_path](const std::string& dir) { model::copy_tokenizer_files(model_path, dir); };
  return [tok, chat_template](const std::string& dir) { save_tokenizer_files(tok, chat_template, dir); };
}

}  // namespace fw::trainer
