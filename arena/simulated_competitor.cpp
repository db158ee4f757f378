#include "arena/simulated_competitor.h"

#include "core/rng.h"
#include "data/synth/tasks.h"
#include "data/synth/verify.h"

namespace fw::arena {

SimulatedCompetitor::SimulatedCompetitor(SimulatedOptions opts) : opts_(std::move(opts)) {
  auto check = [&](double p, const std::string& what) {
    if (!(p >= 0 && p <= 1))
      throw_invalid("simulated competitor \"" + opts_.name + "\": " + what + " must be in [0, 1]", {.key = what});
  };
  check(opts_.accuracy, "accuracy");
  check(opts_.near_miss, "near_miss");
  for (const auto& [cat, p] : opts_.by_category) check(p, "by_category." + cat);
}

nlohmann::json SimulatedCompetitor::identity() const {
  return {{"kind", "simulated"}, {"name", opts_.name}, {"accuracy", opts_.accuracy},
          {"by_category", opts_.by_category}, {"near_miss", opts_.near_miss}, {"seed", opts_.seed}};
}

nlohmann::json SimulatedCompetitor::answer_inputs(const data::PromptRecord& p) const {
  return {{"messages", data::messages_to_json(p.messages)}, {"id", p.id}, {"reference", p.reference}};
}

double SimulatedCompetitor::accuracy_for(const std::string& category) const {
  auto it = opts_.by_category.find(category);
  return it == opts_.by_category.end() ? opts_.accuracy : it->second;
}

rollout::ChatResult SimulatedCompetitor::answer(const data::PromptRecord& p) const {
  if (!p.has_reference)
    throw_invalid("simulated competitor \"" + opts_.name + "\" needs a reference answer, and prompt \"" + p.id +
                      "\" has none",
                  {.key = "reference"});
  Rng rng(hash_string(p.id, hash_string(opts_.name, opts_.seed)));
  rollout::ChatResult r;
  if (rng.bernoulli(accuracy_for(p.category)))
    r.content = synth::format_answer(p.reference);
  else
    r.content = synth::format_answer(synth::perturb_answer(p.reference, rng, rng.bernoulli(opts_.near_miss)));
  r.finish_reason = "stop";
  return r;
}

void SimulatedCompetitor::respond(const std::vector<const data::PromptRecord*>& prompts, const ReplyFn& on_done) {
  for (size_t i = 0; i < prompts.size(); ++i) {
    try {
      const rollout::ChatResult r = answer(*prompts[i]);
      on_done(i, &r, nullptr);
    } catch (const Error& e) {
      on_done(i, nullptr, &e);
    }
  }
}

}  // namespace fw::arena
