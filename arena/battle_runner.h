// Battles: prompts x model pairs -> responses -> two judged games per pair -> battle
// JSONL (FastChat's format, arena/battle_record.h), resumable at any point.
//
// Everything paid for is on disk as soon as it completes, in the run folder:
//   responses.jsonl    response cache: key = sha256(competitor identity, what its answer
//                      depends on: the messages; a simulated model's also the id, reference);
//                      value {question_id, model, content, finish_reason, simulated}
//   answers.jsonl      {"key", "value": {question_id, model, content}}: each model's answer
//                      to each question id (the cache shares one entry among equal prompts)
//   judgments.jsonl    judgment cache: key = sha256(judge identity, messages, reference,
//                      first, second)
//   battles.jsonl      one record per battle with a verdict, appended as battles finish
//   unparseable.jsonl  battles with an unparseable game (kept, left out of Elo)
//   summary.json       counts, per-judge position inconsistency, failures
//   arena.json         the judge, the verdict rule and each competitor's identity: a rerun
//                      with a different judge, rule or model under the same name is an
//                      error, never a silent mix of two arenas in one battle file
// A rerun (or a resumed crash) reads the caches and the battle files: no request is made
// twice and no battle is written twice. Battles are played in chunks of prompts, in a fixed
// order, so the battle file of a resumed run lists the battles in the same order as an
// uninterrupted one.
//
// Requests that fail after the client's retries (a dead endpoint) are counted and their
// battles left undone; run_battles then throws after everything else is saved, and a
// rerun picks them up.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "arena/competitor.h"
#include "arena/judge.h"
#include "arena/verdict.h"

namespace fw::arena {

enum class PairMode { AllPairs, TargetVsEach };
PairMode pair_mode_from_name(const std::string& name);  // "all" | "target"

struct BattleRunOptions {
  std::string out_dir;
  PairMode pairs = PairMode::AllPairs;
  std::string target;          // PairMode::TargetVsEach: the target's name
  VerdictOptions verdict;
  int64_t chunk_prompts = 64;  // prompts per chunk (responses, then judgments, then records)
  bool record_time = true;     // false: tstamp 0, so reruns give byte-identical files
  bool release_models = false; // Competitor::release() after each competitor's answers of a chunk
};

struct BattleRunSummary {
  int64_t battles_planned = 0;   // pairs x prompts
  int64_t battles_done_before = 0;  // found in battles.jsonl / unparseable.jsonl at start
  int64_t battles_written = 0;   // with a verdict, this run
  int64_t unparseable_written = 0;
  int64_t responses_requested = 0, responses_cached = 0;
  int64_t judgments_requested = 0, judgments_cached = 0;
  int64_t failures = 0;          // requests that failed after retries (battles left undone)
  std::string first_failure;
  // judge name -> {battles with two parseable games, of which position-inconsistent},
  // over the whole battles.jsonl (earlier runs' battles included)
  std::map<std::string, std::pair<int64_t, int64_t>> consistency;
  nlohmann::ordered_json to_json() const;
};

// The model pairs in play, (model_a, model_b), in a fixed order.
std::vector<std::pair<size_t, size_t>> battle_pairs(const std::vector<Competitor*>& competitors, PairMode mode,
                                                    const std::string& target);

// Throws fw::Error (InvalidInput) for duplicate competitor names, an unknown target or
// fewer than two competitors; (Runtime) after saving everything when requests failed.
BattleRunSummary run_battles(const std::vector<data::PromptRecord>& prompts, const std::vector<Competitor*>& competitors,
                             Judge& judge, const BattleRunOptions& opts);

}  // namespace fw::arena
