// The verifiers a recipe's eval.verifier names (trainer/trainer_hooks.h), for the programs
// that run recipes: `flywheel sft` / `flywheel ppo` and the flywheel's stages. trainer/
// knows no task domain; this is where the domain's verifier is handed to it.
#pragma once

#include "trainer/sft_recipe.h"
#include "trainer/trainer_hooks.h"

namespace fw::flywheel {

trainer::AnswerVerifier answer_verifier(trainer::VerifierKind kind);

}  // namespace fw::flywheel
