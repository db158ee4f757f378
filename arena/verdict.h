// From two games to one battle outcome (the paper's two-game setup, DESIGN.md §1): each
// pair is judged twice with the positions swapped, and the verdict combines both.
//
//   sum    (default, the paper's): add each model's scores over both games; the higher
//          total wins unless the totals are within tie_margin (equal totals tie)
//   agree  each game picks a winner (scores within tie_margin tie); the battle goes to a
//          model only when both games pick it, otherwise it is a tie
//
// A battle with an unparseable game has no verdict: it is recorded apart and left out
// of Elo, never guessed.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "core/enum_names.h"
#include "arena/battle_record.h"

namespace fw::arena {

enum class VerdictMode { Sum, Agree };
constexpr std::array<EnumName<VerdictMode>, 2> enum_names(VerdictMode) {
  return {{{VerdictMode::Sum, "sum"}, {VerdictMode::Agree, "agree"}}};
}
VerdictMode verdict_mode_from_name(const std::string& name);  // "sum" | "agree"

struct VerdictOptions {
  VerdictMode mode = VerdictMode::Sum;
  double tie_margin = 0;  // score difference at or below which a comparison is a tie
};

// The winner of one game; nullopt when it is unparseable.
std::optional<Winner> game_winner(const Game& g, double tie_margin);

// The battle's winner over its games; nullopt when any game is unparseable or there is none.
std::optional<Winner> combine_games(const std::vector<Game>& games, const VerdictOptions& opts);

// True when the two games of a battle pick different winners (the judge changed its
// mind with the order): the position-inconsistency rate is the share of such battles
// among those with two parseable games.
bool position_inconsistent(const std::vector<Game>& games, double tie_margin);

}  // namespace fw::arena
