// One stage of an iteration, i<i>.<kind>, as the paper's loop runs it: the target battles
// the competitors on the stage's slice -> the kind builds its data from the battles ->
// trains -> the gate checks the output against its input -> the snapshot goes on. Rank 0
// leads (battles, data, gate, manifest); the other ranks follow the manifest and train
// each attempt with it (flywheel/rank_sync.h). The kind's part is flywheel/stage.h.
#include <filesystem>

#include "core/hash.h"
#include "core/json_io.h"
#include "core/log.h"
#include "data/chat/template_kwargs.h"
#include "flywheel/rank_sync.h"
#include "flywheel/run_steps.h"
#include "flywheel/stage.h"

namespace fs = std::filesystem;

namespace fw::flywheel {
namespace {

// The stage's inputs: the kind's plan (its resolved trainer recipes, its own files and
// settings), the slice, the target's identity, and the arena that judges its battles.
std::string stage_inputs(const RunContext& run, const StageSlot& slot, const Snapshot& target, const StagePlan& plan) {
  const FlywheelRecipe& r = run.recipe;
  const int64_t i = slot.iteration;
  nlohmann::json arena_id = {{"judge", run.judge_identity()}, {"verdict", name_of(r.verdict)}, {"tie_margin", r.tie_margin},
                             {"sft_margin", per_iteration(r.sft_margin, i)}, {"dpo_margin", per_iteration(r.dpo_margin, i)},
                             // (the arms other than judge train on the pool's responses since issue 17)
                             {"selection", r.sft_selection == arena::SftSelection::Judge ? std::string(name_of(r.sft_selection))
                                                                                : std::string(name_of(r.sft_selection)) + ":pool-response"},
                             {"sampling", run.as_competitor(target).sampling.max_tokens}};
  // Each setting only in the stages it changes, so editing one does not refuse the others.
  arena_id["heldout"] = r.heldout_fraction;
  for (const auto& [key, value] : plan.settings.items()) arena_id[key] = value;
  if (r.gate.enabled)
    arena_id["gate"] = {{"min_win_rate", r.gate.min_win_rate}, {"on_fail", name_of(r.gate.on_fail)},
                        {"bootstrap", r.gate.bootstrap}, {"retries", plan.retries}};
  for (const auto& comp : r.competitors) {
    std::string id = comp.name + ":" + comp.kind + ":" + comp.model;
    const std::string kwargs = data::canonical_kwargs(comp.chat_template_kwargs);
    if (!kwargs.empty()) id += ":" + kwargs;  // (absent before: hashes kept)
    arena_id["competitors"].push_back(id);
  }
  return sha256_hex(slot.id + "\n" + hashed_recipes(plan.recipes) + files_sha({run.slice_file(slot.slice)}) + target.sha + arena_id.dump());
}

// Attempt j's go-ahead for the other ranks: READY in data/ (attempt 0) or data/retry<j>/.
std::string ready_dir(const std::string& dir, size_t attempt) {
  return dir + "/data" + (attempt ? "/retry" + std::to_string(attempt) : "");
}

class StageRun {
 public:
  StageRun(RunContext& run, Stage& stage) : run_(run), stage_(stage), slot_(stage.context().slot), target_(stage.context().target) {}

  // Plans the stage (every rank), then leads or follows it.
  Snapshot run(const StageKind& kind) {
    plan_ = stage_.plan();
    inputs_ = stage_inputs(run_, slot_, target_, plan_);
    out_ = {run_.recipe.target.name + "-I" + std::to_string(slot_.iteration) + "-" + kind.snapshot_label,
            stage_.context().output_model(0), inputs_, static_cast<int>(slot_.iteration), kind.name};
    return run_.leader ? lead() : follow();
  }

 private:
  Snapshot lead() {
    const FlywheelRecipe& r = run_.recipe;
    bool restart = false;
    if (run_.manifest.begin(slot_.id, inputs_, &restart)) return recorded(run_.manifest.outputs(slot_.id));
    clear_previous_attempt(restart);
    // 1. Battles: the target against each competitor on the slice.
    const SliceBattles slice = play_battles();
    run_.reached(slot_.id, "battles");
    // 2. The stage's data.
    const StageData data = stage_.build_data(slice);
    if (data.examples == 0) {
      log::warn("flywheel: " + slot_.id + " — " + data.empty_reason + "; the target goes on unchanged");
      run_.manifest.finish(slot_.id, {{"skipped", data.empty_reason}, {"data", data.stats}, {"battles", battles_}});
      return target_;
    }
    log::info("flywheel: " + slot_.id + " — " + std::to_string(data.examples) + " training examples");
    run_.reached(slot_.id, "data");
    // 3. Train (with the other ranks, when data-parallel), then 4. the gate: the output
    // against its input on the held-out prompts; a failed stage is kept, retried with the
    // next of its retries, or dropped, as the recipe says.
    const size_t n_heldout = heldout_count(slice.prompts.size(), r.heldout_fraction);
    const std::vector<data::PromptRecord> heldout(slice.prompts.end() - static_cast<std::ptrdiff_t>(n_heldout),
                                                  slice.prompts.end());
    const nlohmann::json record = {{"slice", slot_.slice}, {"data", data.stats}, {"battles", battles_}};
    auto checks = nlohmann::json::array();
    std::string verdict = "no gate";
    for (size_t attempt = 0;; ++attempt) {
      mark_stage_ready(ready_dir(slot_.dir, attempt), inputs_);
      const Trained t = stage_.train(attempt);
      if (t.status == Trained::Interrupted) return run_.interrupt(out_);
      if (t.status == Trained::Skipped) {
        finish(record, {{"skipped", t.why}, {"heldout", heldout_figures(0)}});
        return target_;
      }
      out_.path = stage_.context().output_model(attempt);
      if (!r.gate.enabled || heldout.empty()) break;
      const GateCheck g = stage_.evaluate(out_, heldout, attempt);
      checks.push_back({{"attempt", attempt}, {"settings", attempt ? plan_.retries[attempt - 1] : ""}, {"check", g.to_json()}});
      if (g.passed) {
        verdict = "passed";
        break;
      }
      const GateAction action = r.gate.on_fail;
      if (action == GateAction::Keep) {
        verdict = "failed, kept (gate.on_fail: keep)";
        break;
      }
      if (action == GateAction::Retry && attempt < plan_.retries.size()) continue;
      verdict = "failed, dropped (gate.on_fail: " + std::string(name_of(r.gate.on_fail)) + ")";
      log::warn("flywheel: " + slot_.id + " — the gate dropped " + out_.name + ": its win rate against " + target_.name +
                " is " + std::to_string(g.win_rate) + "; the target goes on unchanged");
      finish(record, {{"dropped", verdict}, {"gate", {{"verdict", verdict}, {"checks", checks}}},
                      {"heldout", heldout_figures(attempt)}});
      return target_;
    }
    // 5. The snapshot goes on.
    const size_t kept = checks.empty() ? 0 : checks.back().value("attempt", size_t{0});
    finish(record, {{"snapshot", snapshot_json(out_)}, {"gate", {{"verdict", verdict}, {"checks", checks}}},
                    {"heldout", heldout_figures(kept)}});
    run_.snapshots.push_back(out_);
    return out_;
  }

  // Ranks > 0: train each attempt rank 0 starts (its READY), until rank 0 marks the stage done.
  Snapshot follow() {
    for (size_t attempt = 0;; ++attempt) {
      const auto st = run_.wait_for(slot_.id, ready_dir(slot_.dir, attempt));
      out_.sha = st.value("inputs_sha256", inputs_);
      if (st.value("status", "") == "done") return recorded(st.value("outputs", nlohmann::json::object()));
      if (stage_.train(attempt).status == Trained::Interrupted) {
        run_.snapshots.push_back(out_);
        return run_.interrupt(out_);
      }
    }
  }

  // A stage done before (this run or an earlier one): its snapshot as recorded (a retry's
  // folder), or its input when it was skipped or dropped.
  Snapshot recorded(const nlohmann::json& outputs) {
    if (outputs.contains("skipped") || outputs.contains("dropped")) return target_;
    if (outputs.contains("snapshot")) out_.path = outputs["snapshot"].value("path", out_.path);
    run_.snapshots.push_back(out_);
    return out_;
  }

  // A previous attempt's go-aheads must not start the other ranks early; a stage started
  // afresh (other inputs) sets its trainers' and gates' folders aside instead of resuming them.
  void clear_previous_attempt(bool restart) const {
    for (size_t j = 0; j <= plan_.retries.size(); ++j) fs::remove(ready_dir(slot_.dir, j) + "/READY");
    if (!restart) return;
    std::vector<std::string> earlier = {slot_.dir + "/train"};
    for (const auto& f : plan_.own_folders) earlier.push_back(slot_.dir + "/" + f);
    earlier.push_back(slot_.dir + "/gate");
    for (size_t j = 1; j <= plan_.retries.size(); ++j)
      for (const char* part : {"/train", "/gate"}) earlier.push_back(slot_.dir + part + attempt_suffix(j));
    run_.set_aside_stale(slot_.id, earlier);
  }

  // The battles on the slice. The competitors (and the local models they load) live for
  // the battles only, not through the training that follows.
  SliceBattles play_battles() {
    const FlywheelRecipe& r = run_.recipe;
    SliceBattles slice{slot_.dir + "/battle", slot_.dir + "/data", run_.slice_file(slot_.slice), target_.name,
                       data::read_prompt_records({run_.slice_file(slot_.slice)}), {}};
    log::info("flywheel: " + slot_.id + " — " + target_.name + " battles " + std::to_string(r.competitors.size()) +
              " competitors on D" + std::to_string(slot_.slice) + " (" + std::to_string(slice.prompts.size()) + " prompts)");
    arena::BattleRunOptions bo = run_.battle_options();
    bo.out_dir = slice.battle_dir;
    bo.pairs = arena::PairMode::TargetVsEach;
    bo.target = target_.name;
    std::vector<arena::CompetitorSection> sections = {run_.as_competitor(target_)};
    sections.insert(sections.end(), r.competitors.begin(), r.competitors.end());
    {
      auto owned = run_.arena_setup.competitors(sections);
      std::vector<arena::Competitor*> models;
      for (auto& m : owned) models.push_back(m.get());
      battles_ = arena::run_battles(slice.prompts, models, *run_.judge, bo).to_json();
    }
    for (size_t k = slice.prompts.size() - heldout_count(slice.prompts.size(), r.heldout_fraction); k < slice.prompts.size(); ++k)
      slice.heldout.insert(slice.prompts[k].id);
    fs::create_directories(slice.data_dir);
    return slice;
  }

  // The stage's held-out figures, as its trainers logged them: every metrics.jsonl line
  // with eval/ keys ({"step", "eval/...": ...}), per trainer folder (train/: the attempt's).
  nlohmann::json heldout_figures(size_t attempt) const {
    nlohmann::json out = nlohmann::json::object();
    std::vector<std::string> folders = plan_.own_folders;
    folders.push_back("train");
    for (const std::string& sub : folders) {
      const std::string file = slot_.dir + "/" + sub + (sub == "train" ? attempt_suffix(attempt) : "") + "/metrics.jsonl";
      if (!fs::exists(file)) continue;
      auto rows = nlohmann::json::array();
      for_each_jsonl(file, [&](const nlohmann::json& line, long) {
        nlohmann::json row = nlohmann::json::object();
        for (const auto& [key, value] : line.items())
          if (key.rfind("eval/", 0) == 0) row[key] = value;
        if (row.empty()) return;
        row["step"] = line.value("step", 0);
        rows.push_back(std::move(row));
      });
      if (!rows.empty()) out[sub] = std::move(rows);
    }
    return out;
  }

  void finish(nlohmann::json record, const nlohmann::json& more) {
    record.update(more);
    run_.manifest.finish(slot_.id, std::move(record));
  }

  RunContext& run_;
  Stage& stage_;
  const StageSlot& slot_;
  const Snapshot& target_;
  StagePlan plan_;
  std::string inputs_;
  Snapshot out_;
  nlohmann::json battles_;  // the battles' summary, for the manifest
};

}  // namespace

Snapshot run_stage(RunContext& run, const StageKind& kind, int64_t iteration, size_t position, const Snapshot& target) {
  const int64_t n = static_cast<int64_t>(run.stages.size());
  StageSlot slot;
  slot.iteration = iteration;
  slot.position = position;
  slot.slice = (iteration - 1) * n + static_cast<int64_t>(position) + 1;
  slot.id = "i" + std::to_string(iteration) + "." + kind.name;
  slot.dir = run.out + "/" + stage_folder(slot.id);
  const std::unique_ptr<Stage> stage = kind.make(StageContext{run, slot, target});
  return StageRun(run, *stage).run(kind);
}

}  // namespace fw::flywheel
