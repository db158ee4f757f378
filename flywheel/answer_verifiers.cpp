#include "flywheel/answer_verifiers.h"

#include "core/strings.h"
#include "data/synth/verify.h"

namespace fw::flywheel {

trainer::AnswerVerifier answer_verifier(trainer::VerifierKind kind) {
  switch (kind) {
    case trainer::VerifierKind::Synthetic:
      return [](std::string_view reference, std::string_view response, std::string_view prompt_text) {
        const synth::Verdict v = synth::verify_answer(reference, response, prompt_text);
        return trainer::AnswerCheck{.score = v.score, .correct = v.correct};
      };
    case trainer::VerifierKind::ExactMatch:
      return [](std::string_view reference, std::string_view response, std::string_view) {
        const bool same = trim(response) == trim(reference);
        return trainer::AnswerCheck{.score = same ? 10 : 1, .correct = same};
      };
  }
  return {};
}

}  // namespace fw::flywheel
