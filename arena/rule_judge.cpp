#include "arena/judge.h"

#include "data/synth/verify.h"

namespace fw::arena {

namespace {
std::string dialogue_text(const data::PromptRecord& p) {
  std::string s;
  for (const data::Message& m : p.messages) s += m.content + "\n";
  return s;
}

std::string describe(const char* which, const synth::Verdict& v) {
  return std::string(which) + ": " + std::to_string(v.score) + " (" + v.rule +
         (v.extracted.empty() ? "" : ", answered " + v.extracted) + ")";
}
}  // namespace

void RuleJudge::judge(const std::vector<JudgeRequest>& requests, const JudgeFn& on_done) {
  for (size_t i = 0; i < requests.size(); ++i) {
    const data::PromptRecord& p = *requests[i].prompt;
    if (!p.has_reference) {
      const Error e(ErrorKind::InvalidInput, "the rule judge needs a reference answer, and prompt \"" + p.id + "\" has none",
                    {.key = "reference", .hint = "use judge.kind: llm or rm for prompts without references"});
      on_done(i, nullptr, &e);
      continue;
    }
    const std::string prompt = dialogue_text(p);
    const synth::Verdict a = synth::verify_answer(p.reference, requests[i].first, prompt);
    const synth::Verdict b = synth::verify_answer(p.reference, requests[i].second, prompt);
    JudgeOutcome out;
    out.score_first = a.score;
    out.score_second = b.score;
    out.judgment = describe("first", a) + "; " + describe("second", b) + "; reference " + p.reference;
    on_done(i, &out, nullptr);
  }
}

}  // namespace fw::arena
