// Reading battle files for Elo, fast. A JSONL file is mapped whole and its lines parsed
// on `threads` threads; each line first goes through a scanner that pulls out the fields
// Elo uses (model_a, model_b, winner, category) and checks the rest strictly (JSON
// grammar, and question_id, judge, tstamp and "games" as battle_from_json checks them).
// Any line the scanner does not fully accept (escapes like \u, non-ASCII text, integer
// ids, anything odd) is parsed by nlohmann-json and battle_from_json instead, so what is
// accepted and every error (message, file:line; the first bad line wins) are exactly
// read_battles'. The battles come back as columns (arena/elo_battles.h), in file order.
// A JSON-array file (FastChat's) goes to read_battles. A regular file is mapped: one that
// another process truncates while it is being read ends this one (SIGBUS). flywheel only
// appends to battle files, and truncates a torn tail when a battle run starts.
#pragma once

#include <string>

#include "arena/elo_battles.h"

namespace fw::arena {

// threads: 0 = std::thread::hardware_concurrency().
EloBattles read_elo_battles(const std::string& path, int threads = 0);

}  // namespace fw::arena
