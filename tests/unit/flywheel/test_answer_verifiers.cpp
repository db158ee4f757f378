// The verifiers a recipe's eval.verifier names: what each scores right and wrong.
#include <gtest/gtest.h>

#include "flywheel/answer_verifiers.h"

namespace {

using fw::trainer::VerifierKind;

TEST(AnswerVerifiers, SyntheticGivesPartialCreditAndExactMatchNone) {
  const auto synthetic = fw::flywheel::answer_verifier(VerifierKind::Synthetic);
  const auto exact = fw::flywheel::answer_verifier(VerifierKind::ExactMatch);
  ASSERT_TRUE(synthetic && exact);
  // The synthetic verifier reads the answer out of the sentence and credits a near miss.
  EXPECT_TRUE(synthetic("18", "The answer is 18.", "Compute 8 + 10.").correct);
  const auto near = synthetic("18", "The answer is 17.", "Compute 8 + 10.");
  EXPECT_FALSE(near.correct);
  EXPECT_GT(near.score, 1);
  EXPECT_LT(near.score, 10);
  // Exact match: the trimmed response is the reference, or it scores 1.
  EXPECT_EQ(exact("18", " 18\n", "").score, 10);
  EXPECT_TRUE(exact("18", "18", "").correct);
  const auto sentence = exact("18", "The answer is 18.", "");
  EXPECT_FALSE(sentence.correct);
  EXPECT_EQ(sentence.score, 1);
}

}  // namespace
