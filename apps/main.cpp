// flywheel: one binary, one subcommand per job.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>

#include "apps/commands.h"
#include "apps/version.h"
#include "core/error.h"
#include "core/log.h"

int main(int argc, char** argv) {
  CLI::App app{"flywheel: native post-training for LLMs with a simulated chatbot arena"};
  app.set_version_flag("--version", std::string("flywheel ") + fw::apps::version_string());
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug | info | warn | error")->default_val("info");

  std::map<CLI::App*, fw::apps::Run> runs;
  auto add = [&](const char* name, const char* help, fw::apps::Run (*make)(CLI::App&)) {
    CLI::App* sub = app.add_subcommand(name, help);
    runs[sub] = make(*sub);
  };
  add("info", "Describe a model folder: architecture, parameters, dtype, tokenizer", fw::apps::add_info_command);
  add("sft", "Supervised fine-tuning from a YAML recipe (resumable)", fw::apps::add_sft_command);
  add("dpo", "Direct preference optimisation from a YAML recipe (resumable)", fw::apps::add_dpo_command);
  add("rm", "Train a reward model on preference pairs (resumable)", fw::apps::add_rm_command);
  add("ppo", "PPO of a policy against a reward model (resumable)", fw::apps::add_ppo_command);
  add("score", "Score conversations or preference pairs with a reward model", fw::apps::add_score_command);
  add("generate", "Generate text from a model folder (batched, KV cache)", fw::apps::add_generate_command);
  add("tokenize", "Encode or decode JSONL text with a folder's tokenizer (tokenizer.json or tokenizer.model)",
      fw::apps::add_tokenize_command);
  add("template", "Render JSONL conversations with a folder's own chat template: text, ids, assistant mask",
      fw::apps::add_template_command);
  add("synth", "Generate the synthetic verifiable task domain (prompts, SFT data, held-out split)", fw::apps::add_synth_command);
  add("run", "The Arena Learning flywheel: iterations of battles -> data -> SFT/DPO/RM+PPO -> Elo (resumable)", fw::apps::add_run_command);
  add("battle", "Battles between models on prompts, judged twice per pair with positions swapped (resumable)", fw::apps::add_battle_command);
  add("elo", "Bradley-Terry Elo with bootstrap CIs from battle files; writes leaderboard.json/.md/.html", fw::apps::add_elo_command);
  add("consistency", "Compare a leaderboard with a reference: Spearman, Kendall, agreement, separability", fw::apps::add_consistency_command);
  add("serve", "Serve a model folder over an OpenAI-compatible HTTP API (batched)", fw::apps::add_serve_command);
  add("testset", "WizardArena offline test sets (Diverse/Hard/Mix) from a clustered prompt pool; decontaminates training data", fw::apps::add_testset_command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    fw::log::set_level(fw::log::level_from_string(log_level));
    for (auto& [sub, run] : runs)
      if (sub->parsed()) run();
    return 0;
  } catch (const fw::Error& e) {
    fw::log::error(e.what());
    return fw::exit_code(e);
  } catch (const std::exception& e) {
    fw::log::error(e.what());
    return 1;
  }
}
