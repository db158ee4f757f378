// flywheel-torch: every subcommand, with LibTorch. Users run `flywheel` (apps/text_main.cpp),
// which runs the text commands itself and hands everything else to this program.
#include <vector>

#include "apps/cli.h"
#include "apps/version.h"

int main(int argc, char** argv) {
  using fw::apps::Command;
  std::vector<Command> commands = {
      {"info", "Describe a model folder: architecture, parameters, dtype, tokenizer", fw::apps::add_info_command},
      {"sft", "Supervised fine-tuning from a YAML recipe (resumable)", fw::apps::add_sft_command},
      {"dpo", "Direct preference optimisation from a YAML recipe (resumable)", fw::apps::add_dpo_command},
      {"rm", "Train a reward model on preference pairs (resumable)", fw::apps::add_rm_command},
      {"ppo", "PPO of a policy against a reward model (resumable)", fw::apps::add_ppo_command},
      {"score", "Score conversations or preference pairs with a reward model", fw::apps::add_score_command},
      {"generate", "Generate text from a model folder (batched, KV cache)", fw::apps::add_generate_command},
      {"synth", "Generate the synthetic verifiable task domain (prompts, SFT data, held-out split)",
       fw::apps::add_synth_command},
      {"run", "The Arena Learning flywheel: iterations of battles -> data -> SFT/DPO/RM+PPO -> Elo (resumable)",
       fw::apps::add_run_command},
      {"battle", "Battles between models on prompts, judged twice per pair with positions swapped (resumable)",
       fw::apps::add_battle_command},
      {"serve", "Serve a model folder over an OpenAI-compatible HTTP API (batched)", fw::apps::add_serve_command},
      {"testset", "WizardArena offline test sets (Diverse/Hard/Mix) from a clustered prompt pool; decontaminates training data",
       fw::apps::add_testset_command},
  };
  for (const Command& c : fw::apps::text_commands()) commands.push_back(c);
  return fw::apps::run_cli(argc, argv, commands, fw::apps::version_string());
}
