// Battle records: one judged battle between two models on one prompt, in FastChat's
// battle format (DESIGN.md §4), so our files feed FastChat's Elo notebooks and theirs
// feed `flywheel elo`.
//
//   {"question_id", "model_a", "model_b", "winner": "model_a|model_b|tie|tie (bothbad)",
//    "judge", "category", "games": [{"order": "ab|ba", "score_a", "score_b",
//    "judgment"}], "tstamp"}
//
// A game's score_a / score_b are the scores of model_a's and model_b's responses, whatever
// the position they were shown in ("ba" = model_b's response was shown first). A game
// whose judgment could not be parsed has no scores and "unparseable": true.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace fw::arena {

enum class Winner : uint8_t { ModelA, ModelB, Tie, TieBothBad };

const char* winner_name(Winner w);  // "model_a" | "model_b" | "tie" | "tie (bothbad)"
// Throws fw::Error (InvalidInput) for any other string.
Winner winner_from_name(const std::string& name);

struct Game {
  std::string order = "ab";           // "ab": model_a's response shown first; "ba": swapped
  std::optional<double> score_a;      // empty when the judgment was unparseable
  std::optional<double> score_b;
  std::string judgment;               // the judge's raw text (or the rule judge's reason)
  bool unparseable() const { return !score_a || !score_b; }
};

struct Battle {
  std::string question_id;
  std::string model_a, model_b;
  Winner winner = Winner::Tie;
  std::string judge;
  std::string category;               // empty when the data carries none
  std::vector<Game> games;            // two for the two-game setup; may be empty (FastChat)
  double tstamp = 0;                  // seconds since the epoch
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // other keys, kept as read
};

nlohmann::ordered_json battle_to_json(const Battle& b);
// `where` names the record in errors ("battles.jsonl:12"). Requires model_a, model_b
// (distinct, non-empty strings) and winner; question_id may be a string or a number.
Battle battle_from_json(const nlohmann::json& record, const std::string& file, long line);

// Reads our battle JSONL, or a FastChat battle file (a JSON array of records, as
// FastChat's clean_battle_*.json). Errors name file:line and the key.
std::vector<Battle> read_battles(const std::string& path);

}  // namespace fw::arena
