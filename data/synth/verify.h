// The rule judge's core: find the final answer in a free-text response and score it 1..10
// against a task's canonical reference (data/synth/tasks.h).
//
// Answer kind, from the reference's form: an integer or decimal ("68", "-12") is a Number;
// two or more integers separated by commas ("2, 5, 9") a List; anything else Text ("tac").
//
// Extraction (the response is first normalised: markdown ** __ ` $ removed, the unicode
// minus and curly quotes made ASCII):
//  1. Strong markers, latest first: "answer is", "answer:", "answer =", "answer would be",
//     "answer will be", "answer's", "final answer", "result is", "result:", "boxed{". The
//     answer is read from the sentence after the marker (up to . ! ? ; or a newline; a
//     decimal point is not an end). If that sentence contains "=", only the text after its
//     last "=" counts ("The answer is 3 + 5 = 8" -> 8).
//  2. Otherwise weak markers, latest first: "=", "equals", "is", "are", "gives", "makes",
//     "becomes", "get", "gets", "got", ":", "->", "=>". Alphabetic markers must stand as
//     words ("answer isn't" is no marker).
//     A marker whose sentence holds no answer of the right kind, or ends in "?" (an
//     echoed question: "What is 3 + 5? 8"), is skipped.
//  3. Otherwise the unmarked response:
//       Number  the one number in the response that is not in the prompt; a response with
//               only one distinct number gives that number; otherwise ambiguous.
//       List    the last [...] group, else the numbers on the last line holding any.
//       Text    the last quoted span, else (one-letter references) the one distinct
//               single letter, else the one word that is neither a filler word ("the",
//               "letter", "answer", ...) nor a word of the prompt, else the response's
//               only word; otherwise ambiguous.
//  Reading a sentence: Number takes its first number (parenthesised asides are skipped;
//  "1,234" is 1234); List takes all its integers in order; Text its first quoted span,
//  else its first non-filler word (or its only word); for a one-letter reference the
//  first single letter ("the letter c"). A reference with spaces is read as a phrase
//  (the whole sentence, whitespace collapsed).
//  Hedging is not rewarded: a sentence with "or", "/", "between", "either", "maybe",
//  "possibly" or "perhaps" and two or more distinct candidates is ambiguous, and an
//  ambiguous answer scores 1. So "1 2 3 4 5 6 7 8 9", "8 or 9" and "the answer is 7, 8
//  or 9" get nothing: one candidate is chosen by position (after the latest marker, or
//  the only new one), never by looking for the reference among many. A second guess in a
//  later unmarked sentence ("The answer is 8. Or 9.") is not seen.
//
// Scores:
//   10  correct (correct = true). Number: equal value ("8.0" == "8"). List: same
//       sequence. Text: equal; case-insensitive unless the reference has an uppercase
//       letter (then the case must match too).
//    6  Number: off by one, or within 1 % relative error. Text: right letters, wrong case
//       (only where the reference is case-sensitive).
//    5  List: one element inserted, deleted or changed (reference of 3+ elements).
//    4  Number: within 10 %. List: the right elements in the wrong order. Text: edit
//       distance 1 (reference of 3+ letters) or 2 (6+ letters), ignoring case.
//    3  Text: the right letters in another order (anagram, reference of 3+ letters).
//    2  a well-formed answer of the right kind that is wrong.
//    1  nothing extractable: empty, garbage, wrong kind, or ambiguous.
#pragma once

#include <string>
#include <string_view>

#include "core/rng.h"
#include "data/synth/tasks.h"

namespace fw::synth {

enum class AnswerKind { Number, List, Text };

AnswerKind answer_kind(std::string_view reference);
const char* answer_kind_name(AnswerKind kind);  // "number" | "list" | "text"

struct Verdict {
  int score = 1;          // 1..10
  bool correct = false;   // score == 10
  std::string extracted;  // the answer found, canonical ("8", "2, 5, 9", "tac"); "" if none
  std::string rule;       // which rule decided: exact, near_1pct, off_by_one, near_10pct,
                          // wrong_case, edit_distance, anagram, one_element_off,
                          // permutation, wrong, ambiguous, no_answer, empty
};

// Scores `response` against `reference`. `prompt` (the dialogue text, optional) lets the
// unmarked rules ignore numbers and words that merely repeat the question.
Verdict verify_answer(std::string_view reference, std::string_view response, std::string_view prompt = {});

// The same for a task: its reference, with all its messages as the prompt.
Verdict verify(const Task& task, std::string_view response);

// All message contents of a task, one per line (the `prompt` verify() passes on).
std::string prompt_text(const Task& task);

// A wrong answer in the reference's canonical form, for simulated competitors.
// near = true: a near miss that scores 3..6 where the kind allows one (number +-1, two
// neighbours swapped or one element changed in a list, a letter dropped or swapped, the
// wrong case); a single-letter reference has no near miss and gets another letter (2).
// near = false: clearly wrong, scoring 2. Never equal to the reference.
std::string perturb_answer(const std::string& reference, Rng& rng, bool near);

}  // namespace fw::synth
