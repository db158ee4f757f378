// Rank-aware logging. By default only rank 0 prints info; warnings and errors print on
// every rank, prefixed with the rank when the world has more than one process.
#pragma once

#include <sstream>
#include <string>

namespace fw::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

// Set once at start-up (dist/ calls it after rendezvous). Defaults: rank 0 of 1.
void set_rank(int rank, int world_size);
void set_level(Level level);          // messages below this level are dropped
Level level_from_string(const std::string& name);  // "debug|info|warn|error"; throws fw::Error

int rank();
int world_size();

// Writes one line to stderr: "[flywheel] message" or "[rank 1] message".
void write(Level level, const std::string& message, bool all_ranks = false);

inline void debug(const std::string& m) { write(Level::Debug, m); }
inline void info(const std::string& m) { write(Level::Info, m); }
inline void info_all_ranks(const std::string& m) { write(Level::Info, m, true); }
inline void warn(const std::string& m) { write(Level::Warn, m, true); }
inline void error(const std::string& m) { write(Level::Error, m, true); }

}  // namespace fw::log
