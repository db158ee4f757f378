// Reading battle files for Elo, fast. A JSONL file is read whole and its lines parsed on
// `threads` threads; each line first goes through a scanner that pulls out the fields Elo
// uses and checks the rest strictly (JSON grammar, and "games" as battle_from_json checks
// them). Any line the scanner does not fully accept (escapes like \u, non-ASCII text,
// integer ids, anything odd) is parsed by nlohmann-json and battle_from_json instead, so
// what is accepted and every error (message, file:line; the first bad line wins) are
// exactly read_battles'. The battles keep question_id, model_a, model_b, winner, judge,
// category and tstamp; games and other keys are checked but not kept. A JSON-array file
// (FastChat's) goes to read_battles.
#pragma once

#include <string>
#include <vector>

#include "arena/battle_record.h"

namespace fw::arena {

// threads: 0 = std::thread::hardware_concurrency().
std::vector<Battle> read_battles_for_elo(const std::string& path, int threads = 0);

}  // namespace fw::arena
