// The `flywheel` subcommands. Each registers its options on a CLI11 app and returns the
// function that runs it; main() parses, runs, and maps fw::Error to the exit code.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace fw::apps {

using Run = std::function<void()>;

Run add_info_command(CLI::App& app);
Run add_generate_command(CLI::App& app);
Run add_tokenize_command(CLI::App& app);
Run add_template_command(CLI::App& app);
Run add_sft_command(CLI::App& app);
Run add_dpo_command(CLI::App& app);
Run add_rm_command(CLI::App& app);
Run add_ppo_command(CLI::App& app);
Run add_score_command(CLI::App& app);
Run add_synth_command(CLI::App& app);
Run add_elo_command(CLI::App& app);
Run add_consistency_command(CLI::App& app);
Run add_serve_command(CLI::App& app);
Run add_battle_command(CLI::App& app);
Run add_run_command(CLI::App& app);
Run add_testset_command(CLI::App& app);

}  // namespace fw::apps
