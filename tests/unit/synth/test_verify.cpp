// The verifier against a table of messy responses: each row is (reference, prompt,
// response) -> (score, extracted). Rules are in data/synth/verify.h.
#include <gtest/gtest.h>

#include "data/synth/verify.h"

namespace {

using fw::synth::AnswerKind;
using fw::synth::answer_kind;
using fw::synth::verify_answer;

struct Row {
  const char* reference;
  const char* prompt;
  const char* response;
  int score;
  const char* extracted;  // nullptr: do not check
};

const char* kAdd = "What is 3 + 5?";
const char* kSub = "What is 100 - 112?";
const char* kMul = "What is 617 * 2?";
const char* kCountA = "How many times does the letter a appear in banana?";
const char* kCountZ = "How many times does the letter z appear in banana?";
const char* kSort = "Sort 5, 2, 9 from smallest to largest.";
const char* kRev = "Reverse the word cat.";
const char* kRevUp = "Reverse cat and write it in uppercase.";
const char* kFirst = "What is the first letter of cat?";
const char* kFirstA = "What is the first letter of apple?";
const char* kMulti = "What is 4 + 3?\nThe answer is 7.\nNow add 5 to that.\n";
const char* kMax = "What is the largest of 3, 7, 2?";

const Row kRows[] = {
    // --- numbers: formats that must be read
    {"8", kAdd, "The answer is 8.", 10, "8"},
    {"8", kAdd, "8", 10, "8"},
    {"8", kAdd, "8.", 10, "8"},
    {"8", kAdd, "  8!\n", 10, "8"},
    {"8", kAdd, "The answer is: 8", 10, "8"},
    {"8", kAdd, "Answer: 8", 10, "8"},
    {"8", kAdd, "ANSWER:\n8", 10, "8"},
    {"8", kAdd, "**8**", 10, "8"},
    {"8", kAdd, "The answer is **8**.", 10, "8"},
    {"8", kAdd, "`8`", 10, "8"},
    {"8", kAdd, "3 + 5 = 8", 10, "8"},
    {"8", kAdd, "$3 + 5 = 8$.", 10, "8"},
    {"8", kAdd, "The sum of 3 and 5 is 8.", 10, "8"},
    {"8", kAdd, "I added 3 and 5 and got 8", 10, "8"},
    {"8", kAdd, "Adding them gives eight (8).", 10, "8"},
    {"8", kAdd, "8.0", 10, "8"},
    {"8", kAdd, "The answer is 8.00", 10, "8"},
    {"8", kAdd, "What is 3 + 5? 8", 10, "8"},
    {"8", kAdd, "The answer is 8, because 3 + 5 = 8.", 10, "8"},
    {"8", kAdd, "The answer is 3 + 5 = 8.", 10, "8"},
    {"8", kAdd, "3 + 5 = 8, so the answer is 8.", 10, "8"},
    {"8", kAdd, "The answer is 7. Actually, wait: the answer is 8.", 10, "8"},
    {"8", kAdd, "Answer: 8\nExplanation: 3 + 5 = 8", 10, "8"},
    {"8", kAdd, "\\boxed{8}", 10, "8"},
    {"8", kAdd, "The final answer is 8 (three plus five).", 10, "8"},
    {"8", kAdd, "8 is the answer.", 10, "8"},
    // --- numbers: near misses and wrong answers
    {"8", kAdd, "The answer is 9.", 6, "9"},
    {"8", kAdd, "The answer is 7.5", 6, "7.5"},
    {"8", kAdd, "The answer is 80.", 2, "80"},
    {"8", kAdd, "3 + 5 = 15", 2, "15"},
    // --- numbers: nothing, garbage, hedging, listing many numbers
    {"8", kAdd, "", 1, ""},
    {"8", kAdd, "   \n\t", 1, ""},
    {"8", kAdd, "I don't know.", 1, ""},
    {"8", kAdd, "The answer is eight.", 1, ""},
    {"8", kAdd, "asdf qwer zxcv", 1, ""},
    {"8", kAdd, "The answer is 8 or 9.", 1, ""},
    {"8", kAdd, "The answer is between 7 and 9.", 1, ""},
    {"8", kAdd, "The answer is 8/9", 1, ""},
    {"8", kAdd, "Maybe 8, possibly 9", 1, ""},
    {"8", kAdd, "1 2 3 4 5 6 7 8 9 10", 1, ""},
    {"8", kAdd, "6, 7, 8, 9", 1, ""},
    {"8", kAdd, "3 5", 1, ""},
    {"8", kAdd, "The answer isn't 5, it could be 8 or 9", 1, ""},
    // --- negative numbers and thousands
    {"-12", kSub, "The answer is -12.", 10, "-12"},
    {"-12", kSub, "The answer is \xE2\x88\x92" "12.", 10, "-12"},
    {"-12", kSub, "100 - 112 = -12", 10, "-12"},
    {"-12", kSub, "-12", 10, "-12"},
    {"-12", kSub, "The answer is 12.", 2, "12"},
    {"1234", kMul, "The answer is 1,234.", 10, "1234"},
    {"1234", kMul, "The answer is 1235", 6, "1235"},
    {"1234", kMul, "The answer is 1240", 6, "1240"},
    {"1234", kMul, "The answer is 1300", 4, "1300"},
    {"1234", kMul, "The answer is 1234.5", 6, "1234.5"},
    {"1234", kMul, "617 * 2 = 1234", 10, "1234"},
    // --- counting
    {"3", kCountA, "There are 3 a's in banana.", 10, "3"},
    {"3", kCountA, "The letter a appears 3 times.", 10, "3"},
    {"3", kCountA, "3 times", 10, "3"},
    {"3", kCountA, "banana has 2 a's", 6, "2"},
    {"0", kCountZ, "0", 10, "0"},
    {"0", kCountZ, "The answer is 0.", 10, "0"},
    {"0", kCountZ, "There are no z's.", 1, ""},
    {"0", kCountZ, "The answer is 1.", 6, "1"},
    // --- answers that repeat numbers of the prompt
    {"7", kMax, "7", 10, "7"},
    {"7", kMax, "The largest is 7.", 10, "7"},
    {"7", kMax, "3, 7, 2", 1, ""},
    {"7", kMax, "The answer is 3.", 2, "3"},
    {"12", kMulti, "12", 10, "12"},
    {"12", kMulti, "7 + 5 = 12", 10, "12"},
    {"12", kMulti, "The answer is 12.", 10, "12"},
    {"12", kMulti, "7", 2, "7"},
    // --- lists
    {"2, 5, 9", kSort, "The answer is 2, 5, 9.", 10, "2, 5, 9"},
    {"2, 5, 9", kSort, "[2, 5, 9]", 10, "2, 5, 9"},
    {"2, 5, 9", kSort, "2 5 9", 10, "2, 5, 9"},
    {"2, 5, 9", kSort, "2,5,9", 10, "2, 5, 9"},
    {"2, 5, 9", kSort, "Sorted: 2, 5, 9", 10, "2, 5, 9"},
    {"2, 5, 9", kSort, "The sorted list is [2, 5, 9].", 10, "2, 5, 9"},
    {"2, 5, 9", kSort, "2, 5 and 9", 10, "2, 5, 9"},
    {"2, 5, 9", kSort, "Here you go:\n2, 5, 9", 10, "2, 5, 9"},
    {"2, 5, 9", kSort, "2, 5, 9 is the sorted order", 10, "2, 5, 9"},
    {"2, 5, 9", kSort, "Sorting 5, 2, 9 gives [2, 5, 9].", 10, "2, 5, 9"},
    {"2, 5, 9", kSort, "The answer is 5, 2, 9.", 4, "5, 2, 9"},
    {"2, 5, 9", kSort, "The answer is 9, 5, 2.", 4, "9, 5, 2"},
    {"2, 5, 9", kSort, "The answer is 2, 5.", 5, "2, 5"},
    {"2, 5, 9", kSort, "The answer is 2, 5, 8.", 5, "2, 5, 8"},
    {"2, 5, 9", kSort, "The answer is 2, 5, 9, 9.", 5, "2, 5, 9, 9"},
    {"2, 5, 9", kSort, "The answer is 1, 3, 7.", 2, "1, 3, 7"},
    {"2, 5, 9", kSort, "The answer is 2, 5, 9 or 2, 9, 5", 1, ""},
    {"2, 5, 9", kSort, "nothing to see here", 1, ""},
    {"-3, 4, 10", "Sort 4, -3, 10.", "The answer is -3, 4, 10.", 10, "-3, 4, 10"},
    // --- words
    {"tac", kRev, "The answer is tac.", 10, "tac"},
    {"tac", kRev, "tac", 10, "tac"},
    {"tac", kRev, "TAC", 10, "TAC"},
    {"tac", kRev, "The answer is \"tac\".", 10, "tac"},
    {"tac", kRev, "The answer is \xE2\x80\x9Ctac\xE2\x80\x9D.", 10, "tac"},
    {"tac", kRev, "'tac'", 10, "tac"},
    {"tac", kRev, "The reversed word is tac.", 10, "tac"},
    {"tac", kRev, "cat reversed is tac", 10, "tac"},
    {"tac", kRev, "Cat backwards: tac", 10, "tac"},
    {"tac", kRev, "Reversed, it's **tac**.", 10, "tac"},
    {"tac", kRev, "The answer is tac, which is cat spelled backwards.", 10, "tac"},
    {"tac", kRev, "The answer is tab.", 4, "tab"},
    {"tac", kRev, "The answer is tca.", 3, "tca"},
    {"tac", kRev, "The answer is cat.", 3, "cat"},
    {"tac", kRev, "The answer is dog.", 2, "dog"},
    {"tac", kRev, "The answer is tac or cat.", 1, ""},
    {"tac", kRev, "The answer is 42.", 1, ""},
    {"tac", kRev, "dog tac fox", 1, ""},
    {"olleh", "Reverse the word hello.", "The answer is ollhe.", 3, "ollhe"},
    {"elppanip", "Reverse pineapple.", "The answer is elpanip.", 4, "elpanip"},
    {"elppanip", "Reverse pineapple.", "The answer is elppnaip.", 4, "elppnaip"},
    // case-sensitive references (they contain an uppercase letter)
    {"TAC", kRevUp, "The answer is TAC.", 10, "TAC"},
    {"TAC", kRevUp, "TAC", 10, "TAC"},
    {"TAC", kRevUp, "The answer is tac.", 6, "tac"},
    {"TAC", kRevUp, "The answer is Tac.", 6, "Tac"},
    {"TAC", kRevUp, "The answer is TAB.", 4, "TAB"},
    {"TAC", kRevUp, "CAT", 3, "CAT"},
    // single letters ("a" and "i" are also words)
    {"c", kFirst, "The answer is c.", 10, "c"},
    {"c", kFirst, "c", 10, "c"},
    {"c", kFirst, "C", 10, "C"},
    {"c", kFirst, "The first letter of cat is c.", 10, "c"},
    {"c", kFirst, "The answer is the letter c.", 10, "c"},
    {"c", kFirst, "It's c", 10, "c"},
    {"c", kFirst, "The answer is t.", 2, "t"},
    {"c", kFirst, "The answer is cat.", 2, "cat"},
    {"c", kFirst, "a b c d", 1, ""},
    {"c", kFirst, "The answer is c or t.", 1, ""},
    {"c", kFirst, "Maybe c, maybe k", 1, ""},
    {"a", kFirstA, "The answer is a.", 10, "a"},
    {"a", kFirstA, "a", 10, "a"},
    {"a", kFirstA, "The first letter is a", 10, "a"},
    {"a", kFirstA, "The answer is A.", 10, "A"},
    {"a", kFirstA, "The answer is p.", 2, "p"},
    {"T", "Now what is its first letter?", "The answer is T.", 10, "T"},
    {"T", "Now what is its first letter?", "The answer is t.", 6, "t"},
    // phrases (references with spaces)
    {"New York", "Which city?", "The answer is New York.", 10, "New York"},
    {"New York", "Which city?", "The answer is new  york", 6, "new york"},
};

TEST(Verify, TableOfMessyResponses) {
  int i = 0;
  for (const Row& r : kRows) {
    const auto v = verify_answer(r.reference, r.response, r.prompt);
    EXPECT_EQ(v.score, r.score) << "row " << i << ": ref='" << r.reference << "' response='" << r.response
                                << "' extracted='" << v.extracted << "' rule=" << v.rule;
    EXPECT_EQ(v.correct, r.score == 10) << "row " << i;
    if (r.extracted) {
      EXPECT_EQ(v.extracted, r.extracted) << "row " << i << ": response='" << r.response << "' rule=" << v.rule;
    }
    EXPECT_GE(v.score, 1);
    EXPECT_LE(v.score, 10);
    EXPECT_FALSE(v.rule.empty());
    ++i;
  }
}

TEST(Verify, HugeNumbersAreWrongNotZero) {
  const std::string huge(400, '9');
  EXPECT_EQ(verify_answer("0", "The answer is " + huge + ".").score, 2);
  EXPECT_EQ(verify_answer("0", huge).score, 2);
}

TEST(Verify, RulesAreNamed) {
  EXPECT_EQ(verify_answer("8", "", kAdd).rule, "empty");
  EXPECT_EQ(verify_answer("8", "The answer is 8 or 9.", kAdd).rule, "ambiguous");
  EXPECT_EQ(verify_answer("8", "no idea", kAdd).rule, "no_answer");
  EXPECT_EQ(verify_answer("8", "8", kAdd).rule, "exact");
  EXPECT_EQ(verify_answer("8", "9", kAdd).rule, "off_by_one");
  EXPECT_EQ(verify_answer("2, 5, 9", "9, 5, 2", kSort).rule, "permutation");
  EXPECT_EQ(verify_answer("TAC", "tac", kRevUp).rule, "wrong_case");
}

TEST(Verify, WithoutPromptAnUnmarkedResponseNeedsOneNumber) {
  EXPECT_EQ(verify_answer("8", "8").score, 10);
  EXPECT_EQ(verify_answer("8", "I added 3 and 5 and got 8").score, 10);  // "got" marks it
  EXPECT_EQ(verify_answer("8", "adding 3 and 5 yields 8").score, 1);    // three candidates
  EXPECT_EQ(verify_answer("8", "adding 3 and 5 yields 8", kAdd).score, 10);
}

TEST(Verify, AnswerKindFromReference) {
  EXPECT_EQ(answer_kind("68"), AnswerKind::Number);
  EXPECT_EQ(answer_kind("-12"), AnswerKind::Number);
  EXPECT_EQ(answer_kind("3.5"), AnswerKind::Number);
  EXPECT_EQ(answer_kind(" 7 "), AnswerKind::Number);
  EXPECT_EQ(answer_kind("2, 5, 9"), AnswerKind::List);
  EXPECT_EQ(answer_kind("-3,4"), AnswerKind::List);
  EXPECT_EQ(answer_kind("tac"), AnswerKind::Text);
  EXPECT_EQ(answer_kind("c"), AnswerKind::Text);
  EXPECT_EQ(answer_kind("1, a"), AnswerKind::Text);
  EXPECT_EQ(answer_kind("3."), AnswerKind::Text);
  EXPECT_EQ(answer_kind("-"), AnswerKind::Text);
}

TEST(Verify, ScoreIsMonotoneInTheNumericError) {
  // Farther from the reference never scores higher.
  int last = 10;
  for (int x = 1000; x <= 2000; ++x) {
    int s = verify_answer("1000", "The answer is " + std::to_string(x) + ".").score;
    EXPECT_LE(s, last) << x;
    last = s;
  }
  EXPECT_EQ(last, 2);
}

}  // namespace

namespace {

TEST(Verify, PerturbedAnswersLandInTheirBand) {
  // For simulated competitors: near misses score 3..6 (2 for one-letter references, which
  // have none), far misses 2, and neither is ever correct — in canonical replies, in every
  // category and level.
  fw::Rng rng(17);
  int near_checked = 0;
  for (const auto& cat : fw::synth::all_categories())
    for (int d = 1; d <= 3; ++d)
      for (int64_t i = 0; i < 150; ++i) {
        auto t = fw::synth::generate_task(3, i, cat, d);
        for (bool near : {true, false}) {
          const std::string wrong = fw::synth::perturb_answer(t.reference, rng, near);
          EXPECT_NE(wrong, t.reference);
          EXPECT_EQ(fw::synth::answer_kind(wrong), fw::synth::answer_kind(t.reference)) << t.reference << " -> " << wrong;
          const auto v = fw::synth::verify(t, fw::synth::format_answer(wrong));
          EXPECT_FALSE(v.correct) << t.reference << " -> " << wrong;
          const bool one_letter =
              fw::synth::answer_kind(t.reference) == fw::synth::AnswerKind::Text && t.reference.size() == 1;
          if (near && !one_letter) {
            EXPECT_GE(v.score, 3) << t.reference << " -> " << wrong << " (" << v.rule << ")";
            EXPECT_LE(v.score, 6) << t.reference << " -> " << wrong << " (" << v.rule << ")";
            ++near_checked;
          } else {
            EXPECT_EQ(v.score, 2) << t.reference << " -> " << wrong << " (" << v.rule << ")";
          }
        }
      }
  EXPECT_GT(near_checked, 1500);
}

}  // namespace

namespace {

TEST(Verify, RandomBytesNeverThrowAndStayInRange) {
  const std::string alphabet = "0123456789 abcxyzTAC.,;:!?=-+*/()[]{}\"'`$\n\t\xE2\x88\x92\xC3\xA9";
  fw::Rng rng(5);
  const char* refs[] = {"8", "-12", "2, 5, 9", "tac", "TAC", "c", "New York", "3.5"};
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    const int len = static_cast<int>(rng.uniform_int(0, 80));
    for (int k = 0; k < len; ++k) s += alphabet[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(alphabet.size()) - 1))];
    if (rng.bernoulli(0.1)) s += std::string(400, '9');  // a number too long for a double
    for (const char* ref : refs) {
      fw::synth::Verdict v;
      ASSERT_NO_THROW(v = verify_answer(ref, s, "What is 3 + 5?")) << s;
      ASSERT_GE(v.score, 1);
      ASSERT_LE(v.score, 10);
    }
  }
}

}  // namespace
