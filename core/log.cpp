#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "core/error.h"

namespace fw::log {
namespace {
std::atomic<int> g_rank{0};
std::atomic<int> g_world{1};
std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::mutex g_mutex;
}  // namespace

void set_rank(int rank, int world_size) {
  g_rank = rank;
  g_world = world_size;
}
void set_level(Level level) { g_level = static_cast<int>(level); }
int rank() { return g_rank; }
int world_size() { return g_world; }

Level level_from_string(const std::string& name) {
  if (name == "debug") return Level::Debug;
  if (name == "info") return Level::Info;
  if (name == "warn" || name == "warning") return Level::Warn;
  if (name == "error") return Level::Error;
  throw_invalid("unknown log level '" + name + "'", {.hint = "use debug, info, warn or error"});
}

void write(Level level, const std::string& message, bool all_ranks) {
  if (static_cast<int>(level) < g_level) return;
  if (!all_ranks && g_rank != 0) return;
  const char* tag = level == Level::Warn ? "warning: " : level == Level::Error ? "error: " : "";
  std::string prefix = g_world > 1 ? "[rank " + std::to_string(g_rank.load()) + "] " : "[flywheel] ";
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "%s%s%s\n", prefix.c_str(), tag, message.c_str());
  std::fflush(stderr);
}

}  // namespace fw::log
