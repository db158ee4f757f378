#include "apps/cli.h"

#include <CLI/CLI.hpp>

#include <map>
#include <string>

#include "core/error.h"
#include "core/log.h"

namespace fw::apps {

std::span<const Command> text_commands() {
  static const Command commands[] = {
      {"tokenize", "Encode or decode JSONL text with a folder's tokenizer (tokenizer.json or tokenizer.model)",
       add_tokenize_command},
      {"template", "Render JSONL conversations with a folder's own chat template: text, ids, assistant mask",
       add_template_command},
      {"elo", "Bradley-Terry Elo with bootstrap CIs from battle files; writes leaderboard.json/.md/.html", add_elo_command},
      {"consistency", "Compare a leaderboard with a reference: Spearman, Kendall, agreement, separability",
       add_consistency_command},
  };
  return commands;
}

int run_cli(int argc, char** argv, std::span<const Command> commands, const char* version) {
  CLI::App app{"flywheel: native post-training for LLMs with a simulated chatbot arena"};
  app.set_version_flag("--version", std::string("flywheel ") + version);
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug | info | warn | error")->default_val("info");

  std::map<CLI::App*, Run> runs;
  for (const Command& c : commands) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    runs[sub] = c.make(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    log::set_level(log::level_from_string(log_level));
    for (auto& [sub, run] : runs)
      if (sub->parsed()) run();
    return 0;
  } catch (const Error& e) {
    log::error(e.what());
    return exit_code(e);
  } catch (const std::exception& e) {
    log::error(e.what());
    return 1;
  }
}

}  // namespace fw::apps
