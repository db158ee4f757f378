#include "flywheel/run.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "arena/arena_setup.h"
#include "arena/decontaminate.h"
#include "arena/sft_selection.h"
#include "arena/slices.h"
#include "core/atomic_file.h"
#include "core/hash.h"
#include "core/json_io.h"
#include "core/log.h"
#include "dist/env.h"
#include "dist/process_group.h"
#include "data/synth/tasks.h"
#include "flywheel/evaluation.h"
#include "flywheel/manifest.h"
#include "flywheel/rank_sync.h"
#include "flywheel/report.h"
#include "flywheel/stage_data.h"
#include "flywheel/trainer_stages.h"

namespace fs = std::filesystem;

namespace fw::flywheel {
namespace {

struct Snapshot {
  std::string name, path;
  std::string sha;  // the inputs hash of the stage that made it (identifies the weights)
  int iteration = 0;
  std::string stage;
};

nlohmann::json snapshot_json(const Snapshot& s) {
  return {{"name", s.name}, {"path", s.path}, {"sha", s.sha}, {"iteration", s.iteration}, {"stage", s.stage}};
}
Snapshot snapshot_from(const nlohmann::json& j) {
  return {j.at("name"), j.at("path"), j.at("sha"), j.at("iteration"), j.at("stage")};
}

std::string files_sha(const std::vector<std::string>& files) {
  std::string all;
  for (const auto& f : files) all += f + ":" + sha256_file(f) + "\n";
  return sha256_hex(all);
}

// A test hook: FLYWHEEL_TEST_CRASH_AT=<stage>:<point> makes the process SIGKILL itself at
// that point, so the tests can crash every stage at moments too short to hit from outside.
void crash_point(const std::string& stage, const char* point) {
  const char* at = std::getenv("FLYWHEEL_TEST_CRASH_AT");
  if (at && stage + ":" + point == at) {
    log::warn("flywheel: FLYWHEEL_TEST_CRASH_AT=" + std::string(at) + ": killing this process (test hook)");
    std::raise(SIGKILL);
  }
}

// A trainer leaves its SIGINT/SIGTERM handler installed (it only sets a flag the trainer
// polls). Between trainers nothing polls it, so the default is put back: Ctrl-C during
// battles or an evaluation stops the process at once (everything paid for is on disk).
template <class Result>
Result with_default_signals_after(Result r) {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return r;
}

double per_iteration(const std::vector<double>& v, int64_t iteration) {
  return v[static_cast<size_t>(std::min<int64_t>(iteration - 1, static_cast<int64_t>(v.size()) - 1))];
}

class Driver {
 public:
  Driver(const FlywheelRecipe& r, const std::string& yaml)
      : r_(r), out_(r.output_dir), manifest_((fs::create_directories(r.output_dir), r.output_dir + "/manifest.json")),
        setup_(r.client, r.compute), leader_(dist::read_dist_env().rank == 0) {
    // A first run records its recipe at once; a rerun only once it has gone through (a
    // changed recipe may yet be refused, and the folder's config.yaml must stay the one
    // its stages were made with).
    if (leader_ && !fs::exists(out_ + "/config.yaml")) write_file_atomic(out_ + "/config.yaml", yaml);
    yaml_ = yaml;
  }

  FlywheelResult run() {
    if (leader_) clear_stale_ready();
    startup_barrier();
    if (leader_) judge_ = setup_.judge(r_.judge);
    else log::info_all_ranks("flywheel: rank " + std::to_string(dist::read_dist_env().rank) +
                             " trains with rank 0 and waits for it between the training stages");
    split();
    Snapshot current = start();
    if (interrupted_) return {"", true};
    evaluate_all(0);
    for (int64_t i = 1; i <= r_.iterations; ++i) {
      const Snapshot begin = current;
      for (size_t k = 0; k < r_.stages.size(); ++k) {
        current = stage(i, k, current);
        if (interrupted_) return {"", true};
      }
      current = evaluate_all(i, begin);
    }
    if (!leader_) return {"", false};
    write_file_atomic(out_ + "/config.yaml", yaml_);
    const std::string html = write_report(out_, manifest_.json(), r_);
    log::info("flywheel: done; report " + html);
    return {html, false};
  }

 private:
  // ---- data parallelism (flywheel/rank_sync.h): rank 0 leads; the others follow the
  // manifest and join each trainer. ----
  nlohmann::json wait_for(const std::string& id, const std::string& ready_dir = "") const {
    return wait_for_stage(out_ + "/manifest.json", id, ready_dir, r_.dist_wait_seconds);
  }
  void mark_ready(const std::string& ready_dir, const std::string& inputs) const { mark_stage_ready(ready_dir, inputs); }

  // A READY file of a stage that is not done is a previous attempt's: remove them before
  // anything else, so the other ranks do not start a trainer on it (rank_sync.h).
  void clear_stale_ready() const {
    for (const auto& st : manifest_.json()["stages"]) {
      if (st.value("status", "") != "done") fs::remove(out_ + "/" + stage_folder(st.value("id", "")) + "/data/READY");
    }
  }

  // Data parallel: every rank meets here once rank 0 has cleared the previous attempt's
  // READY files, so no follower starts a trainer on one (a group of its own, made first
  // on every rank and gone before the trainers make theirs).
  void startup_barrier() const {
    const dist::DistEnv env = dist::read_dist_env();
    if (!env.distributed()) return;
    auto pg = dist::ProcessGroup::create(env, at::kCPU, {.timeout = std::chrono::seconds(r_.dist_wait_seconds), .backend = "gloo"});
    dist::all_reduce_sum(*pg, std::vector<double>{1.0});
  }

  // Only rank 0 has the judge (the other ranks take their stages' inputs from the manifest).
  nlohmann::json judge_identity() const { return judge_ ? judge_->identity() : nlohmann::json(); }

  // ---- split: the test set, the decontaminated pool, D0 and the slices ----
  void split() {
    if (!leader_) {
      wait_for("split");
      return;
    }
    std::vector<data::PromptRecord> test = data::read_prompt_records(r_.eval.prompts);
    if (r_.eval.max_prompts > 0 && static_cast<int64_t>(test.size()) > r_.eval.max_prompts)
      test.resize(static_cast<size_t>(r_.eval.max_prompts));
    test_ = test;
    const int64_t slices = r_.iterations * static_cast<int64_t>(r_.stages.size());
    // D0 is split off when SFT-I0 is trained here, or when the given start was trained on
    // it (pool.reserve_d0: the ablation starts from the demo's SFT-I0).
    const bool d0 = target_is_trained() || r_.pool.reserve_d0;
    const std::string inputs = sha256_hex(files_sha(r_.pool.files) + files_sha(r_.eval.prompts) +
                                          nlohmann::json({r_.pool.d0_size, r_.pool.slice_size, slices, r_.seed,
                                                          r_.pool.decontaminate, r_.eval.max_prompts,
                                                          d0}).dump());
    const std::string dir = out_ + "/data";
    if (!manifest_.begin("split", inputs)) {
      std::vector<data::PromptRecord> pool = data::read_prompt_records(r_.pool.files);
      arena::ContaminationCounts counts;
      if (r_.pool.decontaminate) {
        std::vector<std::string> pool_text, test_text;
        for (const auto& p : pool) pool_text.push_back(arena::prompt_text(p.messages));
        for (const auto& t : test) test_text.push_back(arena::prompt_text(t.messages));
        arena::DecontaminateOptions o;
        o.neighbours = 0;  // exact and near duplicates; no embedding model needed
        const auto report = arena::find_contamination(pool_text, {}, test_text, {}, o);
        std::vector<data::PromptRecord> kept;
        for (size_t i = 0; i < pool.size(); ++i)
          if (report.hits[i].reason == arena::Contamination::None) kept.push_back(pool[i]);
        counts = report.counts;
        pool = std::move(kept);
      }
      const arena::PoolSplit s = arena::split_pool(pool, d0 ? r_.pool.d0_size : 0, r_.pool.slice_size,
                                                   slices, static_cast<uint64_t>(r_.seed));
      fs::create_directories(dir);
      arena::write_prompt_records(dir + "/D0.jsonl", s.d0);
      for (size_t k = 0; k < s.slices.size(); ++k)
        arena::write_prompt_records(dir + "/D" + std::to_string(k + 1) + ".jsonl", s.slices[k]);
      crash_point("split", "data");
      manifest_.finish("split", {{"pool", pool.size()},
                                 {"test", test.size()},
                                 {"decontaminated", {{"exact_duplicate", counts.exact_duplicate},
                                                     {"near_duplicate", counts.near_duplicate}}},
                                 {"d0", s.d0.size()},
                                 {"slices", s.slices.size()},
                                 {"slice_size", r_.pool.slice_size}});
      log::info("flywheel: split the pool into D0 (" + std::to_string(s.d0.size()) + ") and " +
                std::to_string(s.slices.size()) + " slices of " + std::to_string(r_.pool.slice_size) + "; " +
                std::to_string(counts.removed()) + " pool prompts removed as duplicates of test prompts");
    }
  }

  bool target_is_trained() const { return r_.target.start.empty(); }
  std::string slice_file(int64_t k) const { return out_ + "/data/D" + std::to_string(k) + ".jsonl"; }

  // ---- i0: the starting target ----
  Snapshot start() {
    if (!target_is_trained()) {
      Snapshot s{r_.target.name + "-I0", r_.target.start, sha256_hex("start:" + fs::absolute(r_.target.start).string()), 0, "start"};
      snapshots_.push_back(s);
      return s;
    }
    const std::string dir = out_ + "/i0/sft";
    const std::string data = dir + "/data/sft.jsonl";
    StageCommon c{dir + "/train", "", {data}, r_.seed, r_.deterministic};
    auto p = prepare_sft(r_.target.sft0, "target.sft0", c);
    const std::string inputs = sha256_hex("i0.sft\n" + p.yaml + files_sha({slice_file(0)}));
    Snapshot s{r_.target.name + "-I0", dir + "/train/final", inputs, 0, "sft"};
    if (!leader_) {
      const auto st = wait_for("i0.sft", dir + "/data");
      snapshots_.push_back(s);
      if (st.value("status", "") == "done") return s;
      return with_default_signals_after(trainer::run_sft(p.recipe, p.yaml)).interrupted ? interrupt(s) : s;
    }
    bool restart = false;
    if (manifest_.begin("i0.sft", inputs, &restart)) {
      snapshots_.push_back(s);
      return s;
    }
    fs::remove(dir + "/data/READY");
    if (restart) set_aside_stale("i0.sft", {dir + "/train"});
    // D0's SFT data: each prompt with its reference answer in the canonical form.
    std::vector<arena::SftExample> examples;
    for (const auto& rec : data::read_prompt_records({slice_file(0)})) {
      if (!rec.has_reference)
        throw_invalid("SFT-I0 is trained on D0's reference answers, and prompt " + rec.id + " has none",
                      {.file = r_.pool.files.front(), .key = "target.start",
                       .hint = "give target.start a checkpoint for a pool without references"});
      auto m = rec.messages;
      m.push_back({"assistant", synth::format_answer(rec.reference)});
      examples.push_back({rec.id, m, "reference", 0});
    }
    fs::create_directories(dir + "/data");
    arena::write_sft_examples(data, examples);
    mark_ready(dir + "/data", inputs);
    crash_point("i0.sft", "data");
    log::info("flywheel: i0.sft — training " + s.name + " on D0 (" + std::to_string(examples.size()) + " examples)");
    const auto res = with_default_signals_after(trainer::run_sft(p.recipe, p.yaml));
    if (res.interrupted) return interrupt(s);
    manifest_.finish("i0.sft", {{"snapshot", snapshot_json(s)}, {"examples", examples.size()}, {"steps", res.steps}});
    snapshots_.push_back(s);
    return s;
  }

  // A stage that starts afresh must not resume a previous attempt's trainer checkpoints
  // (made from other inputs): they are moved aside to <folder>.stale.
  void set_aside_stale(const std::string& id, const std::vector<std::string>& folders) const {
    for (const auto& f : folders) {
      if (!fs::exists(f)) continue;
      fs::remove_all(f + ".stale");
      fs::rename(f, f + ".stale");
      log::warn("flywheel: " + id + " starts afresh; moved the earlier attempt's " + f + " to " + f + ".stale");
    }
  }

  Snapshot interrupt(Snapshot s) {
    interrupted_ = true;
    log::warn("flywheel: interrupted; rerun the same command to resume");
    return s;
  }

  arena::CompetitorSection as_competitor(const Snapshot& s) const {
    arena::CompetitorSection c;
    c.name = s.name;
    c.kind = "local";
    c.model = s.path;
    c.max_batch = r_.target.max_batch;
    c.sampling = r_.target.sampling;
    return c;
  }

  arena::BattleRunOptions battle_options() const {
    arena::BattleRunOptions o;
    o.verdict = {arena::verdict_mode_from_name(r_.verdict), r_.tie_margin};
    o.chunk_prompts = r_.chunk_prompts;
    o.record_time = !r_.deterministic;
    o.release_models = !r_.compute.keep_models;
    return o;
  }

  // ---- one stage of an iteration: battle on the slice -> data -> train ----
  // The trainer(s) of a stage, on every rank. True when interrupted.
  bool train_stage(const std::string& kind, const std::string& id, const std::string& dir, const StageCommon& c) {
    if (kind == "sft") {
      auto p = prepare_sft(r_.sft, "sft", c);
      return with_default_signals_after(trainer::run_sft(p.recipe, p.yaml)).interrupted;
    }
    if (kind == "dpo") {
      auto p = prepare_dpo(r_.dpo, c);
      return with_default_signals_after(trainer::run_dpo(p.recipe, p.yaml)).interrupted;
    }
    StageCommon rm = c;
    rm.output_dir = dir + "/rm";
    rm.train_files = {dir + "/data/rm.jsonl"};
    auto prm = prepare_rm(r_.rm, rm);
    if (with_default_signals_after(trainer::run_rm(prm.recipe, prm.yaml)).interrupted) return true;
    crash_point(id, "rm");
    auto pp = prepare_ppo(r_.ppo, c, dir + "/rm/final");
    return with_default_signals_after(trainer::run_ppo(pp.recipe, pp.yaml)).interrupted;
  }

  Snapshot stage(int64_t i, size_t k, const Snapshot& target) {
    const std::string kind = r_.stages[k];
    const std::string id = "i" + std::to_string(i) + "." + kind;
    const int64_t slice = (i - 1) * static_cast<int64_t>(r_.stages.size()) + static_cast<int64_t>(k) + 1;
    const std::string dir = out_ + "/" + stage_folder(id);
    const std::string name = r_.target.name + "-I" + std::to_string(i) + "-" + (kind == "rm_ppo" ? "ppo" : kind);
    StageCommon c{dir + "/train", target.path, {}, r_.seed + i * 100 + static_cast<int64_t>(k), r_.deterministic};

    // Inputs: the trainer recipes as they will run, the slice, the target, the arena.
    std::string recipes;
    if (kind == "sft") {
      // With sft_accumulate, the earlier SFT data (D0's, each iteration's) is trained on
      // again with the new slice's, so what the target already knew is not forgotten.
      if (r_.sft_accumulate) {
        if (target_is_trained()) c.train_files.push_back(out_ + "/i0/sft/data/sft.jsonl");
        for (int64_t j = 1; j < i; ++j)
          if (fs::exists(out_ + "/i" + std::to_string(j) + "/sft/data/sft.jsonl"))
            c.train_files.push_back(out_ + "/i" + std::to_string(j) + "/sft/data/sft.jsonl");
      }
      c.train_files.push_back(dir + "/data/sft.jsonl");
      recipes = prepare_sft(r_.sft, "sft", c).yaml;
      for (size_t f = 0; f + 1 < c.train_files.size(); ++f) recipes += files_sha({c.train_files[f]});
    } else if (kind == "dpo") {
      c.train_files = {dir + "/data/dpo.jsonl"};
      recipes = prepare_dpo(r_.dpo, c).yaml;
    } else {
      StageCommon rm = c;
      rm.output_dir = dir + "/rm";
      rm.train_files = {dir + "/data/rm.jsonl"};
      c.train_files = {dir + "/data/ppo_prompts.jsonl"};
      recipes = prepare_rm(r_.rm, rm).yaml + prepare_ppo(r_.ppo, c, dir + "/rm/final").yaml;
    }
    nlohmann::json arena_id = {{"judge", judge_identity()}, {"verdict", r_.verdict}, {"tie_margin", r_.tie_margin},
                               {"sft_margin", per_iteration(r_.sft_margin, i)}, {"dpo_margin", per_iteration(r_.dpo_margin, i)},
                               // (the arms other than judge train on the pool's responses since issue 17)
                               {"selection", r_.sft_selection == "judge" ? r_.sft_selection : r_.sft_selection + ":pool-response"},
                               {"sampling", as_competitor(target).sampling.max_tokens}};
    for (const auto& comp : r_.competitors) arena_id["competitors"].push_back(comp.name + ":" + comp.kind + ":" + comp.model);
    const std::string inputs = sha256_hex(id + "\n" + recipes + files_sha({slice_file(slice)}) + target.sha + arena_id.dump());
    Snapshot out{name, dir + "/train/final", inputs, static_cast<int>(i), kind};
    if (!leader_) {
      const auto st = wait_for(id, dir + "/data");
      if (st.value("status", "") == "done" && st.value("outputs", nlohmann::json::object()).contains("skipped")) return target;
      out.sha = st.value("inputs_sha256", inputs);
      snapshots_.push_back(out);
      if (st.value("status", "") == "done") return out;
      return train_stage(kind, id, dir, c) ? interrupt(out) : out;
    }
    bool restart = false;
    if (manifest_.begin(id, inputs, &restart)) {
      if (manifest_.outputs(id).contains("skipped")) return target;
      snapshots_.push_back(out);
      return out;
    }

    fs::remove(dir + "/data/READY");
    if (restart) set_aside_stale(id, {dir + "/train", dir + "/rm"});
    // 1. Battles: the target against each competitor on the slice.
    const std::vector<data::PromptRecord> prompts = data::read_prompt_records({slice_file(slice)});
    log::info("flywheel: " + id + " — " + target.name + " battles " + std::to_string(r_.competitors.size()) +
              " competitors on D" + std::to_string(slice) + " (" + std::to_string(prompts.size()) + " prompts)");
    arena::BattleRunOptions bo = battle_options();
    bo.out_dir = dir + "/battle";
    bo.pairs = arena::PairMode::TargetVsEach;
    bo.target = target.name;
    const arena::BattleRunSummary battle_summary = [&] {
      // The competitors (and the local models they load) live for the battles only, not
      // through the training that follows.
      std::vector<arena::CompetitorSection> sections = {as_competitor(target)};
      sections.insert(sections.end(), r_.competitors.begin(), r_.competitors.end());
      auto owned = setup_.competitors(sections);
      std::vector<arena::Competitor*> models;
      for (auto& m : owned) models.push_back(m.get());
      return arena::run_battles(prompts, models, *judge_, bo);
    }();
    crash_point(id, "battles");

    // 2. The stage's data.
    const StageData data = build_stage_data(
        {kind, bo.out_dir, dir + "/data", target.name, per_iteration(r_.sft_margin, i), per_iteration(r_.dpo_margin, i),
         arena::sft_selection_from_name(r_.sft_selection), slice_file(slice),
         static_cast<uint64_t>(r_.seed) * 7919 + static_cast<uint64_t>(i)},
        prompts);
    if (data.examples == 0) return skip(id, target, data.stats, battle_summary, data.empty_reason);
    log::info("flywheel: " + id + " — " + std::to_string(data.examples) + " training examples");
    crash_point(id, "data");

    // 3. Train (with the other ranks, when data-parallel).
    mark_ready(dir + "/data", inputs);
    const bool interrupted = train_stage(kind, id, dir, c);
    if (interrupted) return interrupt(out);
    manifest_.finish(id, {{"snapshot", snapshot_json(out)}, {"slice", slice}, {"data", data.stats},
                          {"battles", battle_summary.to_json()}});
    snapshots_.push_back(out);
    return out;
  }

  // A stage with no data keeps the target as it is (recorded, so the report says so).
  Snapshot skip(const std::string& id, const Snapshot& target, const nlohmann::json& data_stats,
                const arena::BattleRunSummary& battles, const std::string& why) {
    log::warn("flywheel: " + id + " — " + why + "; the target goes on unchanged");
    manifest_.finish(id, {{"skipped", why}, {"data", data_stats}, {"battles", battles.to_json()}});
    return target;
  }

  // ---- evaluation on the offline test set ----
  Snapshot evaluate_all(int64_t i, std::optional<Snapshot> iteration_start = std::nullopt) {
    const std::string id = "i" + std::to_string(i) + ".eval";
    std::string shas;
    for (const auto& s : snapshots_) shas += s.name + ":" + s.sha + "\n";
    const std::string inputs = sha256_hex(id + "\n" + shas + files_sha(r_.eval.prompts) + judge_identity().dump());
    Snapshot best = snapshots_.back();
    if (!leader_) return snapshot_from(wait_for(id).at("outputs").at("best"));
    if (manifest_.begin(id, inputs)) {
      best = snapshot_from(manifest_.outputs(id).at("best"));
      return best;
    }
    EvalRequest req;
    req.models = r_.competitors;
    for (const auto& s : snapshots_) req.models.push_back(as_competitor(s));
    req.battle_dir = out_ + "/eval/battle";
    req.out_dir = out_ + "/i" + std::to_string(i) + "/eval";
    req.battle = battle_options();
    req.bootstrap = r_.eval.bootstrap;
    req.seed = static_cast<uint64_t>(r_.seed);
    log::info("flywheel: " + id + " — " + std::to_string(req.models.size()) + " models on the offline test set (" +
              std::to_string(test_.size()) + " prompts)");
    const EvalResult res = evaluate(setup_, *judge_, test_, req);
    crash_point(id, "leaderboard");
    // The best of this iteration's snapshots (its starting model included) goes on.
    std::map<std::string, double> elo;
    for (const auto& e : res.leaderboard.entries) elo[e.model] = e.elo;
    if (iteration_start) {
      best = *iteration_start;
      for (const auto& s : snapshots_)
        if (s.iteration == i && elo[s.name] > elo[best.name]) best = s;
    }
    auto board = nlohmann::json::array();
    for (const auto& e : res.leaderboard.entries)
      board.push_back({{"model", e.model}, {"elo", e.elo}, {"ci_low", e.ci_low}, {"ci_high", e.ci_high},
                       {"battles", e.battles}, {"win_rate", e.win_rate}});
    auto snaps = nlohmann::json::array();
    for (const auto& s : snapshots_) snaps.push_back(snapshot_json(s));
    // Each snapshot's win rate against each competitor (ties half), from the pairwise view.
    nlohmann::json win_rates = nlohmann::json::object();
    const auto& lb = res.leaderboard;
    const size_t n = lb.pair_models.size();
    auto index = [&](const std::string& m) {
      return static_cast<size_t>(std::find(lb.pair_models.begin(), lb.pair_models.end(), m) - lb.pair_models.begin());
    };
    if (lb.pair_win_rate.size() == n * n)
      for (const auto& s : snapshots_)
        for (const auto& c : r_.competitors) {
          const size_t a = index(s.name), b = index(c.name);
          if (a < n && b < n && std::isfinite(lb.pair_win_rate[a * n + b])) win_rates[s.name][c.name] = lb.pair_win_rate[a * n + b];
        }
    manifest_.finish(id, {{"best", snapshot_json(best)}, {"leaderboard", board}, {"snapshots", snaps}, {"win_rates", win_rates},
                          {"leaderboard_dir", req.out_dir}, {"battles", res.battles.to_json()}});
    std::string line;
    for (const auto& e : res.leaderboard.entries) line += "  " + e.model + " " + std::to_string(static_cast<int>(e.elo));
    log::info("flywheel: " + id + " — Elo:" + line + "; next: " + best.name);
    write_report(out_, manifest_.json(), r_);
    return best;
  }

  const FlywheelRecipe& r_;
  std::string out_;
  Manifest manifest_;
  arena::ArenaSetup setup_;
  std::unique_ptr<arena::Judge> judge_;
  std::vector<data::PromptRecord> test_;
  std::vector<Snapshot> snapshots_;
  bool leader_ = true;  // rank 0 (or a single process)
  std::string yaml_;    // the resolved recipe
  bool interrupted_ = false;
};

}  // namespace

FlywheelResult run_flywheel(const FlywheelRecipe& recipe, const std::string& resolved_yaml) {
  return Driver(recipe, resolved_yaml).run();
}

}  // namespace fw::flywheel
