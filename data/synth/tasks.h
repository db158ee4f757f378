// The synthetic verifiable task domain (DESIGN.md §7): seeded, categorised instructions
// with known answers, small enough that a tiny model trained from scratch on a CPU learns
// the easy levels in about a minute, and graded by a rule judge (data/synth/verify.h).
//
// Categories and levels (prompts are short and use a few phrasings each; every answer has
// the canonical reply "The answer is X." — see format_answer()):
//
//   arithmetic  1: a + b, a - b with single digits (a >= b)    "What is 3 + 5?"       -> 8
//               2: two-digit + and - (result >= 0), 1-digit *   "Compute 47 - 19."     -> 28
//               3: three-digit + and - (may be negative),
//                  2-digit * 1..2-digit, a + b * c, a * b - c    "Calculate 12 + 7 * 8." -> 68
//   string      1: first / last letter of a 3-5 letter word     "What is the first letter of cat?" -> c
//               2: reverse a 3-4 letter word, uppercase 3-5     "Reverse the word fish." -> hsif
//               3: reverse 5-7 letters, sort the letters,
//                  reverse and uppercase                        "Sort the letters of lemon alphabetically." -> elmno
//   list        1: max / min of 3 distinct single digits        "What is the largest of 3, 7, 2?" -> 7
//               2: sum of 3 digits, sort 3-4 digits ascending,
//                  max / min of 4-5 two-digit numbers            "Sort 5, 2, 9 from smallest to largest." -> 2, 5, 9
//               3: sort 5-6 two-digit numbers (either way), sum
//                  of 4-5 two-digit numbers, reverse a list      "Reverse the list 12, 40, 75, 33." -> 33, 75, 40, 12
//   counting    1: letters in a 3-5 letter word, items (2-4)     "How many letters are in the word fox?" -> 3
//               2: occurrences of a letter in a word, even
//                  numbers among 4-5 digits                      "How many times does the letter a appear in banana?" -> 3
//               3: a letter in a two-word phrase, numbers above
//                  a threshold among 5-6 two-digit numbers       "How many numbers in 12, 45, 71, 33, 28 are greater than 30?" -> 3
//   multiturn   a first question, its canonical answer, and follow-ups that refer to it
//               1: single-digit sum, then "Now add 5 to that."   -> "What is 4 + 3?" / "The
//                  answer is 7." / "Now add 5 to that."          -> 12
//               2: two-digit arithmetic + add / subtract / double, or reverse a word +
//                  "Now write it in uppercase.", or sort 3-4 digits + largest / sum / sort
//                  descending ("Now what is the largest?")
//               3: two follow-ups (three user turns): arithmetic chains with *, sort ->
//                  remove the smallest -> sum, reverse -> uppercase -> first letter
//
// References are canonical: integers as "-12", lists as "2, 5, 9" (comma and space, at
// least two elements), words as letters only ("tac", "TAC", "c"). verify.h infers the
// answer kind from this form.
//
// Determinism: task i of a run depends only on (seed, i) through Rng::for_index — not on
// n, the platform or the standard library — so a larger n extends a pool without changing
// its prefix. Ids are "synth-<seed>-<index>". Within a run the tasks are i.i.d., so the
// easy levels repeat problems (level-1 arithmetic has 155 distinct ones); Task::problem
// names the problem for deduplication and problem-level held-out splits.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "data/chat_template.h"

namespace fw::synth {

struct Task {
  std::string id;                      // "synth-<seed>-<index>", unique within a run
  std::string category;                // arithmetic | string | list | counting | multiturn
  int difficulty = 1;                  // 1 (a tiny model learns it) .. 3 (hard)
  std::vector<data::Message> messages; // the prompt: user turns, earlier assistant turns
                                       // in canonical form; always ends with a user turn
  std::string reference;               // the final answer, canonical ("68", "2, 5, 9", "tac")
  std::string reference_response;      // canonical assistant reply: format_answer(reference)
  std::string problem;                 // the problem without its phrasing ("arith:3+5"):
                                       // equal for paraphrases; for dedup / problem splits
};

// The categories in their canonical order.
const std::vector<std::string>& all_categories();
constexpr int kMinDifficulty = 1;
constexpr int kMaxDifficulty = 3;

struct GenerateOptions {
  int64_t n = 1000;                     // number of tasks
  uint64_t seed = 0;                    // run seed: same seed, same tasks
  std::vector<std::string> categories;  // subset of all_categories(); empty = all. Each
                                        // task draws its category uniformly from this list
  int min_difficulty = kMinDifficulty;  // inclusive range of levels drawn from
  int max_difficulty = kMaxDifficulty;
  std::vector<double> difficulty_weights;  // optional, one weight per level in
                                           // [min, max]; empty = uniform
  int64_t start_index = 0;              // index (and id) of the first task, to extend a pool
};

// Throws fw::Error (InvalidInput) for an unknown category (with a did-you-mean), a bad
// difficulty range or weights, or n < 0.
std::vector<Task> generate_tasks(const GenerateOptions& opts);

// One task: the generator behind generate_tasks for a given category and level.
Task generate_task(uint64_t seed, int64_t index, const std::string& category, int difficulty);

// The canonical assistant reply for a reference: "The answer is <reference>."
std::string format_answer(const std::string& reference);

// Held-out split. By::Task draws round(fraction * n) tasks at random (i.i.d. held-out
// set; the same problem may also occur in train). By::Problem holds out whole problems
// (every paraphrase and repeat of "arith:3+5" lands on the same side), drawing problems
// in random order until at least fraction * n tasks are held out, so no held-out prompt
// is a training problem. Both keep the input order inside each side; seeded.
enum class SplitBy { Task, Problem };
struct Split {
  std::vector<Task> train;
  std::vector<Task> heldout;
};
Split split_heldout(const std::vector<Task>& tasks, double fraction, uint64_t seed,
                    SplitBy by = SplitBy::Task);
SplitBy split_by_from_name(const std::string& name);  // "task" | "problem"

// Counts: {"total", "multi_turn", "by_category": {cat: n}, "by_difficulty": {"1": n},
// "by_category_difficulty": {cat: {"1": n}}, "distinct_problems"}.
nlohmann::ordered_json task_stats(const std::vector<Task>& tasks);

}  // namespace fw::synth
