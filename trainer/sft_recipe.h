// The SFT recipe as a typed struct: every YAML key, its default, its check. Bound from
// YAML by config/ (apps/cmd_sft.cpp); trainer/ itself never includes config/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/chat_template.h"
#include "data/sft_dataset.h"
#include "trainer/recipe_sections.h"

namespace fw::trainer {

struct DataSection {
  std::vector<std::string> train;  // SFT JSONL files
  std::vector<std::string> eval;   // optional SFT JSONL for eval loss
  int64_t max_seq_len = 2048;
  bool packing = true;
  data::MaskMode mask = data::MaskMode::AllAssistant;  // all_assistant | last_assistant | everything
  data::Truncation truncation = data::Truncation::Drop;  // drop | right | left
  int64_t max_examples = 0;            // 0 = all
  template <class V>
  void visit(V& v) {
    v.field("train", train, "SFT JSONL files (messages or prompt/completion)").required().non_empty();
    v.field("eval", eval, "SFT JSONL files for the eval loss");
    v.field("max_seq_len", max_seq_len).min(2);
    v.field("packing", packing, "pack several examples per row (attention stays within each)");
    v.field("mask", mask, "which tokens are trained on");
    v.field("truncation", truncation, "examples longer than max_seq_len");
    v.field("max_examples", max_examples).min(0);
  }
};

// What scores eval.prompts' responses against their references. The program running the
// recipe supplies it (trainer/trainer_hooks.h): trainer/ knows no task domain.
enum class VerifierKind {
  Synthetic,   // the synthetic task domain's verifier (data/synth/verify.h): 1..10, partial credit
  ExactMatch,  // the response, trimmed, equals the reference: 10, else 1
};
constexpr std::array<EnumName<VerifierKind>, 2> enum_names(VerifierKind) {
  return {{{VerifierKind::Synthetic, "synthetic"}, {VerifierKind::ExactMatch, "exact_match"}}};
}

struct EvalSection {
  int64_t every_steps = 0;  // 0 = only at the end
  std::string prompts;      // prompt JSONL with references: accuracy
  VerifierKind verifier = VerifierKind::Synthetic;
  int64_t max_prompts = 200;
  int64_t max_new_tokens = 32;
  int64_t batch_size = 32;
  template <class V>
  void visit(V& v) {
    v.field("every_steps", every_steps, "0 = only at the end").min(0);
    v.field("prompts", prompts, "prompt JSONL with references, scored by the verifier");
    v.field("verifier", verifier, "synthetic | exact_match");
    v.field("max_prompts", max_prompts).min(1);
    v.field("max_new_tokens", max_new_tokens).min(1);
    v.field("batch_size", batch_size).min(1);
  }
};

struct SftRecipe : TrainingSections {
  DataSection data;
  EvalSection eval;
  template <class V>
  void visit(V& v) {
    visit_around(v, [&] { v.section("data", data); }, [&] { v.section("eval", eval); });
  }
};

}  // namespace fw::trainer
