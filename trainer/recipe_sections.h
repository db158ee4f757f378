// Recipe sections every trainer shares: the model to start from, the tokenizer, AdamW,
// the LR schedule, the step/batch settings and checkpointing. Bound from YAML by
// config/ through each struct's `visit`; trainer/ never includes config/.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/enum_names.h"
#include "data/chat_template.h"
#include "data/tokenizer.h"
#include "trainer/schedule.h"

namespace fw::trainer {

// The compute dtype: fp32, or bf16 autocast over fp32 master weights.
enum class ComputeDtype { Float32, BFloat16 };
constexpr std::array<EnumName<ComputeDtype>, 2> enum_names(ComputeDtype) {
  return {{{ComputeDtype::Float32, "float32"}, {ComputeDtype::BFloat16, "bfloat16"}}};
}

// What a step with a NaN/Inf loss or gradient does (trainer/training_session.h).
enum class OnNan { Stop, Skip };
constexpr std::array<EnumName<OnNan>, 2> enum_names(OnNan) {
  return {{{OnNan::Stop, "stop"}, {OnNan::Skip, "skip"}}};
}

// The top-level keys every recipe has (flattened into the recipe: `output_dir: ...`, not
// `run: {output_dir: ...}`).
struct RunSection {
  std::string output_dir;        // checkpoints, metrics.jsonl, config.yaml, final/
  int64_t seed = 0;
  bool deterministic = false;    // deterministic kernels (bit-exact resume on CPU)
  std::string device = "cpu";    // cpu | cuda | cuda:N
  ComputeDtype dtype = ComputeDtype::Float32;  // float32 | bfloat16 (autocast on CUDA, fp32 master weights)
  int64_t threads = 0;           // CPU intra-op threads; 0 = default
  int64_t log_every_steps = 1;
  int64_t dist_timeout_seconds = 1800;  // data parallel: rendezvous and collective timeout
  template <class V>
  void visit(V& v) {
    v.field("output_dir", output_dir, "run folder: checkpoints, metrics.jsonl, config.yaml").required();
    v.field("seed", seed);
    v.field("deterministic", deterministic, "deterministic kernels (bit-exact resume on CPU)");
    v.field("device", device, "cpu | cuda | cuda:N");
    v.field("dtype", dtype, "compute dtype");
    v.field("threads", threads, "CPU threads; 0 = default").min(0);
    v.field("log_every_steps", log_every_steps).min(1);
    v.field("dist_timeout_seconds", dist_timeout_seconds, "data parallel: a rank waits this long for the others")
        .min(1);
  }
};

// A Llama-family model trained from scratch (when model.path is empty).
struct ScratchModelSection {
  int64_t hidden_size = 128;
  int64_t intermediate_size = 352;
  int64_t num_hidden_layers = 4;
  int64_t num_attention_heads = 4;
  int64_t num_key_value_heads = 2;
  int64_t max_position_embeddings = 512;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = true;
  double init_std = 0.02;
  template <class V>
  void visit(V& v) {
    v.field("hidden_size", hidden_size).min(8);
    v.field("intermediate_size", intermediate_size).min(8);
    v.field("num_hidden_layers", num_hidden_layers).min(1);
    v.field("num_attention_heads", num_attention_heads).min(1);
    v.field("num_key_value_heads", num_key_value_heads).min(1);
    v.field("max_position_embeddings", max_position_embeddings).min(8);
    v.field("rope_theta", rope_theta).min(1.0);
    v.field("tie_word_embeddings", tie_word_embeddings);
    v.field("init_std", init_std, "std of the normal initialisation").range(1e-6, 1.0);
    v.check(hidden_size % num_attention_heads == 0, "num_attention_heads", "must divide hidden_size");
    v.check(num_attention_heads % num_key_value_heads == 0, "num_key_value_heads", "must divide num_attention_heads");
  }
};

struct ModelSection {
  std::string path;  // Hugging Face model folder; empty = train from_scratch
  // auto (the folder's own Jinja template, else plain) | jinja | plain | chatml | llama2 |
  // a .jinja / .json template file (data::load_chat_template)
  std::string chat_template = "auto";
  // Keyword arguments the Jinja template reads, as transformers' apply_chat_template takes
  // them (e.g. {enable_thinking: false} for Qwen3); none for a built-in template.
  nlohmann::ordered_json chat_template_kwargs = nlohmann::ordered_json::object();
  ScratchModelSection from_scratch;
  template <class V>
  void visit(V& v) {
    v.field("path", path, "HF model folder; empty = from_scratch");
    v.field("chat_template", chat_template, "auto | jinja | plain | chatml | llama2 | a .jinja file");
    v.check(data::is_chat_template_setting(chat_template), "chat_template",
            std::string("must be ") + data::kChatTemplateSettings + ", got '" + chat_template + "'");
    v.field("chat_template_kwargs", chat_template_kwargs, "template keyword arguments, e.g. {enable_thinking: false}");
    v.check(chat_template_kwargs.is_object() || chat_template_kwargs.is_null(), "chat_template_kwargs",
            "must be a map of name: value");
    v.section("from_scratch", from_scratch);
  }
};

struct TokenizerSection {
  std::string path;            // tokenizer.model or a folder; empty = model.path
  int64_t train_vocab_size = 0;  // > 0: train a sentencepiece model of this size on data.train
  data::SpModelType train_model_type = data::SpModelType::Bpe;  // bpe | unigram | char (char: vocab = the characters seen)
  template <class V>
  void visit(V& v) {
    v.field("path", path, "tokenizer.model or folder; empty = the model folder");
    v.field("train_vocab_size", train_vocab_size, "train a sentencepiece model on data.train (from scratch)").min(0);
    v.field("train_model_type", train_model_type, "sentencepiece algorithm of a trained tokenizer");
  }
};

struct OptimSection {
  double lr = 2e-5;
  double weight_decay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double grad_clip = 1.0;  // max global grad norm; 0 = off
  bool decay_norms_and_biases = false;
  bool decay_embeddings = false;
  template <class V>
  void visit(V& v) {
    v.field("lr", lr, "peak learning rate").range(0.0, 1.0);
    v.field("weight_decay", weight_decay).range(0.0, 1.0);
    v.field("beta1", beta1).range(0.0, 0.999999);
    v.field("beta2", beta2).range(0.0, 0.999999);
    v.field("eps", eps).range(0.0, 1.0);
    v.field("grad_clip", grad_clip, "max global gradient norm; 0 = off").min(0.0);
    v.field("decay_norms_and_biases", decay_norms_and_biases);
    v.field("decay_embeddings", decay_embeddings);
  }
};

struct ScheduleSection {
  ScheduleKind kind = ScheduleKind::Cosine;  // constant | linear | cosine
  int64_t warmup_steps = 0;
  double min_lr_ratio = 0.0;
  template <class V>
  void visit(V& v) {
    v.field("kind", kind);
    v.field("warmup_steps", warmup_steps).min(0);
    v.field("min_lr_ratio", min_lr_ratio, "floor of the decay, as a fraction of lr").range(0.0, 1.0);
  }
};

struct TrainSection {
  int64_t epochs = 1;
  int64_t max_steps = 0;  // optimizer steps; 0 = as many as the epochs give
  int64_t micro_batch_size = 8;
  int64_t grad_accum = 1;
  OnNan on_nan = OnNan::Stop;  // stop (checkpoint the last good state) | skip (drop the step)
  template <class V>
  void visit(V& v) {
    v.field("epochs", epochs).min(1);
    v.field("max_steps", max_steps, "optimizer steps; 0 = epochs decide").min(0);
    v.field("micro_batch_size", micro_batch_size, "rows per forward/backward").min(1);
    v.field("grad_accum", grad_accum, "micro-batches per optimizer step").min(1);
    v.field("on_nan", on_nan, "a NaN/Inf loss");
  }
};

struct CheckpointSection {
  int64_t every_steps = 0;     // 0 = only at the end
  int64_t keep_last = 2;       // 0 = keep all
  std::string resume = "auto"; // auto | never | a checkpoint folder
  template <class V>
  void visit(V& v) {
    v.field("every_steps", every_steps, "0 = only at the end").min(0);
    v.field("keep_last", keep_last, "0 = keep all").min(0);
    v.field("resume", resume, "auto | never | path of a checkpoint");
  }
};

// The sections every recipe has (each recipe struct derives from this and adds its data
// section, its algorithm's section and, where it evaluates, eval), and the one YAML
// layout of a recipe: the run keys, model, tokenizer, then the recipe's own sections,
// optim, schedule, train, checkpoint, then what follows (eval).
struct TrainingSections {
  RunSection run;  // output_dir, seed, device, ... (top-level keys)
  ModelSection model;
  TokenizerSection tokenizer;
  OptimSection optim;
  ScheduleSection schedule;
  TrainSection train;
  CheckpointSection checkpoint;

  template <class V, class Own, class After>
  void visit_around(V& v, Own&& own, After&& after) {
    run.visit(v);
    v.section("model", model);
    v.section("tokenizer", tokenizer);
    own();
    v.section("optim", optim);
    v.section("schedule", schedule);
    v.section("train", train);
    v.section("checkpoint", checkpoint);
    after();
  }
};

}  // namespace fw::trainer
