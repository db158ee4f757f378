#include "arena/verdict.h"

#include "core/error.h"

namespace fw::arena {

VerdictMode verdict_mode_from_name(const std::string& name) { return enum_from_name_or_throw<VerdictMode>(name, "verdict"); }

namespace {
Winner compare(double a, double b, double margin) {
  if (a - b > margin) return Winner::ModelA;
  if (b - a > margin) return Winner::ModelB;
  return Winner::Tie;
}
}  // namespace

std::optional<Winner> game_winner(const Game& g, double tie_margin) {
  if (g.unparseable()) return std::nullopt;
  return compare(*g.score_a, *g.score_b, tie_margin);
}

std::optional<Winner> combine_games(const std::vector<Game>& games, const VerdictOptions& opts) {
  if (games.empty()) return std::nullopt;
  for (const Game& g : games)
    if (g.unparseable()) return std::nullopt;
  if (opts.mode == VerdictMode::Sum) {
    double a = 0, b = 0;
    for (const Game& g : games) {
      a += *g.score_a;
      b += *g.score_b;
    }
    return compare(a, b, opts.tie_margin);
  }
  const Winner first = *game_winner(games[0], opts.tie_margin);
  for (const Game& g : games)
    if (*game_winner(g, opts.tie_margin) != first) return Winner::Tie;
  return first;
}

bool position_inconsistent(const std::vector<Game>& games, double tie_margin) {
  if (games.size() < 2 || games[0].unparseable() || games[1].unparseable()) return false;
  return *game_winner(games[0], tie_margin) != *game_winner(games[1], tie_margin);
}

}  // namespace fw::arena
