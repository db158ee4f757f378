// The CLI both `flywheel` programs run: global options (--log-level, --version), one
// subcommand from a table, fw::Error mapped to its exit code.
#pragma once

#include <span>

#include "apps/commands.h"

namespace fw::apps {

struct Command {
  const char* name;
  const char* help;
  Run (*make)(CLI::App&);
};

// The commands that need no LibTorch: the `flywheel` launcher runs them itself
// (apps/text_main.cpp); the LibTorch program has them too.
std::span<const Command> text_commands();

// Parses argv against `commands` and runs the one named; returns the exit code.
int run_cli(int argc, char** argv, std::span<const Command> commands, const char* version);

}  // namespace fw::apps
