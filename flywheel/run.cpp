#include "flywheel/run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

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
#include "flywheel/answer_verifiers.h"
#include "flywheel/evaluation.h"
#include "flywheel/manifest.h"
#include "flywheel/rank_sync.h"
#include "flywheel/report.h"
#include "flywheel/stage_data.h"
#include "flywheel/stage_gate.h"
#include "flywheel/trainer_stages.h"
#include "flywheel/validation_split.h"

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
      if (st.value("status", "") != "done") {
        const std::string data = out_ + "/" + stage_folder(st.value("id", "")) + "/data";
        fs::remove(data + "/READY");
        fs::remove(out_ + "/" + stage_folder(st.value("id", "")) + "/rm/ACCURACY_CHECK");
        for (size_t j = 1; fs::exists(data + "/retry" + std::to_string(j)); ++j)
          fs::remove(data + "/retry" + std::to_string(j) + "/READY");
      }
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
                                                          d0}).dump() +
                                          validation_id());
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
      // The validation split comes out first, so D0 and the slices never hold its prompts.
      ValidationSplit v = split_validation(pool, r_.eval.validation_prompts, static_cast<uint64_t>(r_.seed),
                                           r_.pool.decontaminate);
      pool = std::move(v.rest);
      const arena::PoolSplit s = arena::split_pool(pool, d0 ? r_.pool.d0_size : 0, r_.pool.slice_size,
                                                   slices, static_cast<uint64_t>(r_.seed));
      fs::create_directories(dir);
      if (!v.validation.empty()) arena::write_prompt_records(validation_file(), v.validation);
      arena::write_prompt_records(dir + "/D0.jsonl", s.d0);
      for (size_t k = 0; k < s.slices.size(); ++k)
        arena::write_prompt_records(dir + "/D" + std::to_string(k + 1) + ".jsonl", s.slices[k]);
      crash_point("split", "data");
      manifest_.finish("split", {{"pool", pool.size()},
                                 {"test", test.size()},
                                 {"decontaminated", {{"exact_duplicate", counts.exact_duplicate},
                                                     {"near_duplicate", counts.near_duplicate}}},
                                 {"validation", v.validation.size()},
                                 {"decontaminated_validation", {{"exact_duplicate", v.removed.exact_duplicate},
                                                                {"near_duplicate", v.removed.near_duplicate}}},
                                 {"d0", s.d0.size()},
                                 {"slices", s.slices.size()},
                                 {"slice_size", r_.pool.slice_size}});
      log::info("flywheel: split the pool into D0 (" + std::to_string(s.d0.size()) + ") and " +
                std::to_string(s.slices.size()) + " slices of " + std::to_string(r_.pool.slice_size) + "; " +
                std::to_string(counts.removed()) + " pool prompts removed as duplicates of test prompts; " +
                std::to_string(v.validation.size()) + " held out for validation (and " + std::to_string(v.removed.removed()) +
                " duplicates of them removed)");
    }
  }

  bool target_is_trained() const { return r_.target.start.empty(); }
  // Whether every prompt of slice k has a reference answer (the verifier's held-out score).
  bool slice_has_references(int64_t k) const {
    for (const auto& p : data::read_prompt_records({slice_file(k)}))
      if (!p.has_reference) return false;
    return true;
  }
  std::string slice_file(int64_t k) const { return out_ + "/data/D" + std::to_string(k) + ".jsonl"; }
  std::string validation_file() const { return out_ + "/data/validation.jsonl"; }
  bool validates() const { return r_.eval.validation_prompts > 0; }
  // Part of the split's inputs; empty without a validation split, so such runs keep their hashes.
  std::string validation_id() const {
    return validates() ? "validation:" + std::to_string(r_.eval.validation_prompts) : std::string();
  }

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
      return with_default_signals_after(trainer::run_sft(p.recipe, p.yaml, {.verifier = answer_verifier(p.recipe.eval.verifier)})).interrupted ? interrupt(s) : s;
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
    const auto res = with_default_signals_after(trainer::run_sft(p.recipe, p.yaml, {.verifier = answer_verifier(p.recipe.eval.verifier)}));
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
  // The RM trainer's settings of an rm_ppo stage (its own folder, data and held-out pairs).
  StageCommon rm_common(const StageCommon& c, const std::string& dir, int64_t i) const {
    StageCommon rm = c;
    rm.output_dir = dir + "/rm";
    if (const std::string prev = previous_rm(i); !prev.empty()) rm.model_path = prev;
    rm.train_files = {dir + "/data/rm.jsonl"};
    rm.eval_files = r_.heldout_fraction > 0 ? std::vector<std::string>{dir + "/data/rm_heldout.jsonl"}
                                            : std::vector<std::string>{};
    return rm;
  }

  // rm_init: previous_rm — the newest earlier iteration's reward model, which the next one
  // continues training (on the new battles as well); "" when there is none or rm_init: target.
  std::string previous_rm(int64_t i) const {
    if (r_.rm_init != "previous_rm") return "";
    for (int64_t j = i - 1; j >= 1; --j) {
      const std::string d = out_ + "/" + stage_folder("i" + std::to_string(j) + ".rm_ppo") + "/rm/final";
      if (fs::exists(d + "/config.json")) return d;
    }
    return "";
  }
  std::string previous_rm_inputs(int64_t i) const {
    for (int64_t j = i - 1; j >= 1; --j)
      for (const auto& st : manifest_.json()["stages"])
        if (st.value("id", "") == "i" + std::to_string(j) + ".rm_ppo") return st.value("inputs_sha256", "");
    return "";
  }
  static int64_t iteration_of(const std::string& id) { return std::stoll(id.substr(1, id.find('.') - 1)); }

  // The trainer(s) of a stage, on every rank. A held-out file that came out empty (a slice
  // with no pair on its held-out prompts) is left out.
  enum class Trained { Done, Interrupted, RewardModelTooWeak };
  Trained train_stage(const std::string& kind, const std::string& id, const std::string& dir, StageCommon c,
                      size_t attempt = 0) {
    auto trained = [](bool interrupted) { return interrupted ? Trained::Interrupted : Trained::Done; };
    drop_empty_files(c.eval_files);
    c.output_dir += attempt_suffix(attempt);
    if (kind == "sft") {
      auto p = prepare_sft(with_retry(r_.sft, attempt), "sft", c);
      return trained(with_default_signals_after(trainer::run_sft(p.recipe, p.yaml, {.verifier = answer_verifier(p.recipe.eval.verifier)})).interrupted);
    }
    if (kind == "dpo") {
      auto p = prepare_dpo(with_retry(r_.dpo, attempt), c);
      return trained(with_default_signals_after(trainer::run_dpo(p.recipe, p.yaml)).interrupted);
    }
    if (attempt == 0) {  // a retry changes PPO only: the reward model stands
      StageCommon rm = rm_common(c, dir, iteration_of(id));
      drop_empty_files(rm.eval_files);
      auto prm = prepare_rm(r_.rm, rm);
      const trainer::RmResult rm_result = with_default_signals_after(trainer::run_rm(prm.recipe, prm.yaml));
      if (rm_result.interrupted) return Trained::Interrupted;
      // A reward model that has not learned the judge would only teach PPO its errors.
      if (!reward_model_passes(id, dir, rm_result)) return Trained::RewardModelTooWeak;
      crash_point(id, "rm");
    }
    auto pp = prepare_ppo(with_retry(r_.ppo, attempt), c, dir + "/rm/final");
    return trained(
        with_default_signals_after(trainer::run_ppo(pp.recipe, pp.yaml, {.verifier = answer_verifier(pp.recipe.eval.verifier), .judge = heldout_judge(pp.recipe.eval.prompts)}))
            .interrupted);
  }

  // Whether the stage's reward model may feed PPO (its held-out accuracy against the
  // judge's verdicts reaches rm_min_accuracy), the same answer on every rank: rank 0, which
  // evaluated it, writes rm/ACCURACY_CHECK and the other ranks read it there.
  bool reward_model_passes(const std::string& id, const std::string& dir, const trainer::RmResult& rm) const {
    const std::string file = dir + "/rm/ACCURACY_CHECK";
    if (leader_) {
      const bool ok = r_.rm_min_accuracy <= 0 || !rm.eval_accuracy || *rm.eval_accuracy >= r_.rm_min_accuracy;
      write_file_atomic(file, ok ? "pass\n" : "fail\n");
      if (!ok)
        log::warn("flywheel: " + id + " — the reward model's held-out accuracy against the judge's verdicts is " +
                  std::to_string(*rm.eval_accuracy) + ", below rm_min_accuracy " + std::to_string(r_.rm_min_accuracy) +
                  " (" + dir + "/rm/metrics.jsonl); PPO is not run against it and the target goes on unchanged. "
                  "Train the reward model longer or on more pairs (rm.overrides), or lower rm_min_accuracy");
      return ok;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(r_.dist_wait_seconds);
    while (!fs::exists(file)) {
      if (std::chrono::steady_clock::now() > deadline)
        throw_runtime("rank " + std::to_string(dist::read_dist_env().rank) + " waited " +
                          std::to_string(r_.dist_wait_seconds) + " s for rank 0's reward-model check",
                      {.file = file, .key = "dist_wait_seconds"});
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return read_text_file(file).rfind("pass", 0) == 0;
  }

  // PPO's held-out score under the run's judge (rank 0, which has it): each response
  // against the prompt's reference answer (in the canonical answer form), both orders, the response's mean score over
  // the parsed games (NaN when neither parsed). Beside the reward model's score of the
  // same responses, a judge score that stalls while the reward model's rises is reward
  // hacking.
  trainer::ResponseJudge heldout_judge(const std::string& prompts_file) const {
    if (!judge_ || prompts_file.empty()) return {};
    auto by_id = std::make_shared<std::map<std::string, data::PromptRecord>>();
    for (auto& p : data::read_prompt_records({prompts_file})) (*by_id)[p.id] = std::move(p);
    arena::Judge* judge = judge_.get();
    return [by_id, judge](const trainer::EvalPrompts& prompts, const std::vector<std::string>& responses) {
      std::vector<arena::JudgeRequest> requests;
      for (size_t i = 0; i < prompts.size(); ++i) {
        const data::PromptRecord& rec = by_id->at(prompts[i].id);
        // The reference as the pool's own answer reads (D0's SFT data, the ablation's arms).
        const std::string reference = synth::format_answer(rec.reference);
        requests.push_back({&rec, responses[i], reference});
        requests.push_back({&rec, reference, responses[i]});
      }
      std::vector<double> sum(prompts.size(), 0.0);
      std::vector<int> parsed(prompts.size(), 0);
      judge->judge(requests, [&](size_t k, const arena::JudgeOutcome* o, const Error*) {
        if (!o || o->unparseable()) return;
        sum[k / 2] += k % 2 == 0 ? *o->score_first : *o->score_second;
        ++parsed[k / 2];
      });
      std::vector<double> out(prompts.size());
      for (size_t i = 0; i < out.size(); ++i) out[i] = parsed[i] ? sum[i] / parsed[i] : std::nan("");
      return out;
    };
  }

  // The stage's trainer section with its `attempt`-th retry setting (1-based) appended to
  // its overrides.
  static TrainerStageSection with_retry(TrainerStageSection s, size_t attempt) {
    if (attempt == 0) return s;
    std::istringstream words(s.retries.at(attempt - 1));
    for (std::string w; words >> w;) s.overrides.push_back(w);
    return s;
  }

  static void drop_empty_files(std::vector<std::string>& files) {
    std::erase_if(files, [](const std::string& f) { return !fs::exists(f) || fs::file_size(f) == 0; });
  }

  // The battles of every earlier stage of this run (its folders and slices), for the reward
  // model with rm_data: run.
  std::vector<BattleSource> earlier_battles(int64_t i, size_t k) const {
    std::vector<BattleSource> out;
    if (r_.rm_data != "run") return out;
    for (int64_t j = 1; j <= i; ++j)
      for (size_t q = 0; q < r_.stages.size() && (j < i || q < k); ++q) {
        const std::string d = out_ + "/" + stage_folder("i" + std::to_string(j) + "." + r_.stages[q]) + "/battle";
        const int64_t sl = (j - 1) * static_cast<int64_t>(r_.stages.size()) + static_cast<int64_t>(q) + 1;
        if (fs::exists(d + "/battles.jsonl")) out.push_back({d, slice_file(sl)});
      }
    return out;
  }

  // A stage's held-out figures, as its trainers logged them: every metrics.jsonl line with
  // eval/ keys ({"step", "eval/...": ...}), per trainer folder.
  nlohmann::json heldout_figures(const std::string& dir, size_t attempt = 0) const {
    nlohmann::json out = nlohmann::json::object();
    for (const std::string sub : {"rm", "train"}) {
      const std::string file = dir + "/" + sub + (sub == "train" ? attempt_suffix(attempt) : "") + "/metrics.jsonl";
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
      if (r_.heldout_fraction > 0) c.eval_files = {dir + "/data/dpo_heldout.jsonl"};
      recipes = prepare_dpo(r_.dpo, c).yaml;
    } else {
      c.train_files = {dir + "/data/ppo_prompts.jsonl"};
      if (r_.heldout_fraction > 0 && slice_has_references(slice)) c.eval_files = {dir + "/data/ppo_heldout.jsonl"};
      recipes = prepare_rm(r_.rm, rm_common(c, dir, i)).yaml + prepare_ppo(r_.ppo, c, dir + "/rm/final").yaml;
      // A reward model continued from an earlier iteration's: that stage's inputs identify it.
      if (!previous_rm(i).empty()) recipes += previous_rm_inputs(i);
      // The earlier battles the reward model also trains on (done stages: their files are final).
      for (const BattleSource& src : earlier_battles(i, k)) recipes += files_sha({src.battle_dir + "/battles.jsonl"});
    }
    nlohmann::json arena_id = {{"judge", judge_identity()}, {"verdict", r_.verdict}, {"tie_margin", r_.tie_margin},
                               {"sft_margin", per_iteration(r_.sft_margin, i)}, {"dpo_margin", per_iteration(r_.dpo_margin, i)},
                               // (the arms other than judge train on the pool's responses since issue 17)
                               {"selection", r_.sft_selection == "judge" ? r_.sft_selection : r_.sft_selection + ":pool-response"},
                               {"sampling", as_competitor(target).sampling.max_tokens}};
    // Each setting only in the stages it changes, so editing one does not refuse the others.
    arena_id["heldout"] = r_.heldout_fraction;
    if (kind == "dpo") arena_id["dpo_pairs"] = r_.dpo_pairs;
    if (kind == "rm_ppo")
      arena_id["reward_model"] = {{"rm_data", r_.rm_data}, {"rm_min_accuracy", r_.rm_min_accuracy}, {"rm_init", r_.rm_init}};
    if (r_.gate.enabled)
      arena_id["gate"] = {{"min_win_rate", r_.gate.min_win_rate}, {"on_fail", r_.gate.on_fail},
                          {"bootstrap", r_.gate.bootstrap}, {"retries", retries_of(kind)}};
    for (const auto& comp : r_.competitors) arena_id["competitors"].push_back(comp.name + ":" + comp.kind + ":" + comp.model);
    const std::string inputs = sha256_hex(id + "\n" + recipes + files_sha({slice_file(slice)}) + target.sha + arena_id.dump());
    Snapshot out{name, dir + "/train/final", inputs, static_cast<int>(i), kind};
    if (!leader_) return follow_stage(kind, id, dir, c, target, out, inputs);
    bool restart = false;
    if (manifest_.begin(id, inputs, &restart)) return done_stage(manifest_.outputs(id), target, out);

    // A previous attempt's go-aheads for the other ranks (retries, the reward-model check)
    // must not start them early.
    fs::remove(dir + "/data/READY");
    for (size_t j = 1; j <= retries_of(kind).size(); ++j) fs::remove(ready_dir(dir, j) + "/READY");
    fs::remove(dir + "/rm/ACCURACY_CHECK");
    if (restart) {
      std::vector<std::string> earlier = {dir + "/train", dir + "/rm", dir + "/gate"};
      for (size_t j = 1; j <= retries_of(kind).size(); ++j)
        for (const char* part : {"/train", "/gate"}) earlier.push_back(dir + part + attempt_suffix(j));
      set_aside_stale(id, earlier);
    }
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
         static_cast<uint64_t>(r_.seed) * 7919 + static_cast<uint64_t>(i),
         arena::dpo_pairs_from_name(r_.dpo_pairs), r_.heldout_fraction, earlier_battles(i, k)},
        prompts);
    if (data.examples == 0) return skip(id, target, data.stats, battle_summary, data.empty_reason);
    log::info("flywheel: " + id + " — " + std::to_string(data.examples) + " training examples");
    crash_point(id, "data");

    // 3. Train (with the other ranks, when data-parallel), then 4. the gate: the output
    // against its input on the held-out prompts; a failed stage is kept, retried with the
    // next of its retries, or dropped, as the recipe says.
    const std::vector<data::PromptRecord> heldout(prompts.end() - static_cast<std::ptrdiff_t>(
                                                      heldout_count(prompts.size(), r_.heldout_fraction)),
                                                  prompts.end());
    auto gate_log = nlohmann::json::array();
    std::string verdict = "no gate";
    for (size_t attempt = 0;; ++attempt) {
      mark_ready(ready_dir(dir, attempt), inputs);
      const Trained t = train_stage(kind, id, dir, c, attempt);
      if (t == Trained::Interrupted) return interrupt(out);
      if (t == Trained::RewardModelTooWeak) {
        const std::string why = "the reward model's held-out accuracy is below rm_min_accuracy " +
                                std::to_string(r_.rm_min_accuracy) + "; PPO not run";
        manifest_.finish(id, {{"skipped", why}, {"slice", slice}, {"data", data.stats},
                              {"battles", battle_summary.to_json()}, {"heldout", heldout_figures(dir)}});
        return target;
      }
      out.path = dir + "/train" + attempt_suffix(attempt) + "/final";
      if (!r_.gate.enabled || heldout.empty()) break;
      const GateCheck g = run_gate(out, target, heldout, dir + "/gate" + attempt_suffix(attempt), attempt);
      gate_log.push_back({{"attempt", attempt}, {"settings", attempt ? retries_of(kind)[attempt - 1] : ""},
                          {"check", g.to_json()}});
      if (g.passed) {
        verdict = "passed";
        break;
      }
      const GateAction action = gate_action_from_name(r_.gate.on_fail);
      if (action == GateAction::Keep) {
        verdict = "failed, kept (gate.on_fail: keep)";
        break;
      }
      if (action == GateAction::Retry && attempt < retries_of(kind).size()) continue;
      verdict = "failed, dropped (gate.on_fail: " + r_.gate.on_fail + ")";
      log::warn("flywheel: " + id + " — the gate dropped " + out.name + ": its win rate against " + target.name +
                " is " + std::to_string(g.win_rate) + "; the target goes on unchanged");
      manifest_.finish(id, {{"dropped", verdict}, {"slice", slice}, {"data", data.stats},
                            {"battles", battle_summary.to_json()}, {"gate", {{"verdict", verdict}, {"checks", gate_log}}},
                            {"heldout", heldout_figures(dir, attempt)}});
      return target;
    }
    const size_t kept = gate_log.empty() ? 0 : gate_log.back().value("attempt", size_t{0});
    manifest_.finish(id, {{"snapshot", snapshot_json(out)}, {"slice", slice}, {"data", data.stats},
                          {"battles", battle_summary.to_json()}, {"gate", {{"verdict", verdict}, {"checks", gate_log}}},
                          {"heldout", heldout_figures(dir, kept)}});
    snapshots_.push_back(out);
    return out;
  }

  // A stage done before (this run or an earlier one): its snapshot as recorded (a retry's
  // folder), or its input when it was skipped or dropped.
  Snapshot done_stage(const nlohmann::json& outputs, const Snapshot& target, Snapshot out) {
    if (outputs.contains("skipped") || outputs.contains("dropped")) return target;
    if (outputs.contains("snapshot")) out.path = outputs["snapshot"].value("path", out.path);
    snapshots_.push_back(out);
    return out;
  }

  // Ranks > 0: train each attempt rank 0 starts (its READY), until rank 0 marks the stage done.
  Snapshot follow_stage(const std::string& kind, const std::string& id, const std::string& dir, const StageCommon& c,
                        const Snapshot& target, Snapshot out, const std::string& inputs) {
    out.sha = inputs;
    for (size_t attempt = 0;; ++attempt) {
      const auto st = wait_for(id, ready_dir(dir, attempt));
      out.sha = st.value("inputs_sha256", inputs);
      if (st.value("status", "") == "done")
        return done_stage(st.value("outputs", nlohmann::json::object()), target, out);
      if (train_stage(kind, id, dir, c, attempt) == Trained::Interrupted) {
        snapshots_.push_back(out);
        return interrupt(out);
      }
    }
  }

  // Attempt 0 is the stage as its recipe says; attempt j > 0 its j-th retry setting, in
  // folders named <part>.retry<j>, started (for the other ranks) by READY in data/retry<j>.
  static std::string attempt_suffix(size_t attempt) { return attempt ? ".retry" + std::to_string(attempt) : ""; }
  static std::string ready_dir(const std::string& dir, size_t attempt) {
    return dir + "/data" + (attempt ? "/retry" + std::to_string(attempt) : "");
  }
  const std::vector<std::string>& retries_of(const std::string& kind) const {
    return kind == "sft" ? r_.sft.retries : kind == "dpo" ? r_.dpo.retries : r_.ppo.retries;
  }

  // The gate's battles: the stage's output against its input on the held-out prompts.
  GateCheck run_gate(const Snapshot& output, const Snapshot& input, const std::vector<data::PromptRecord>& prompts,
                     const std::string& battle_dir, size_t attempt) {
    arena::BattleRunOptions bo = battle_options();
    bo.out_dir = battle_dir;
    bo.pairs = arena::PairMode::AllPairs;
    auto owned = setup_.competitors({as_competitor(output), as_competitor(input)});
    std::vector<arena::Competitor*> models;
    for (auto& m : owned) models.push_back(m.get());
    arena::run_battles(prompts, models, *judge_, bo);
    const GateCheck g = gate_check(arena::read_battles(battle_dir + "/battles.jsonl"), output.name, input.name,
                                   r_.gate.min_win_rate, r_.gate.bootstrap,
                                   static_cast<uint64_t>(r_.seed) * 104729 + attempt);
    log::info("flywheel: gate — " + output.name + (attempt ? " (retry " + std::to_string(attempt) + ")" : "") +
              " vs " + input.name + " on " + std::to_string(g.prompts) + " held-out prompts: win rate " +
              std::to_string(g.win_rate) + " [" + std::to_string(g.ci_low) + ", " + std::to_string(g.ci_high) + "] " +
              (g.passed ? "passes" : "fails") + " (needs > " + std::to_string(r_.gate.min_win_rate) + ")");
    return g;
  }

  // A stage with no data keeps the target as it is (recorded, so the report says so).
  Snapshot skip(const std::string& id, const Snapshot& target, const nlohmann::json& data_stats,
                const arena::BattleRunSummary& battles, const std::string& why) {
    log::warn("flywheel: " + id + " — " + why + "; the target goes on unchanged");
    manifest_.finish(id, {{"skipped", why}, {"data", data_stats}, {"battles", battles.to_json()}});
    return target;
  }

  // ---- evaluation: the offline test set reports, the validation split chooses ----
  EvalRequest eval_request(const std::string& battle_dir, const std::string& out_dir) const {
    EvalRequest req;
    req.models = r_.competitors;
    for (const auto& s : snapshots_) req.models.push_back(as_competitor(s));
    req.battle_dir = battle_dir;
    req.out_dir = out_dir;
    req.battle = battle_options();
    req.bootstrap = r_.eval.bootstrap;
    req.seed = static_cast<uint64_t>(r_.seed);
    req.anchor_model = eval_anchor_model(r_);
    req.anchor_elo = r_.eval.anchor.elo;
    return req;
  }

  static nlohmann::json board_json(const arena::Leaderboard& lb) {
    auto board = nlohmann::json::array();
    for (const auto& e : lb.entries)
      board.push_back({{"model", e.model}, {"elo", e.elo}, {"ci_low", e.ci_low}, {"ci_high", e.ci_high},
                       {"battles", e.battles}, {"win_rate", e.win_rate}});
    return board;
  }

  Snapshot evaluate_all(int64_t i, std::optional<Snapshot> iteration_start = std::nullopt) {
    const std::string id = "i" + std::to_string(i) + ".eval";
    // i0 only ranks; later evaluations also choose the snapshot that goes on, on the
    // validation split when there is one (else on the test set, which the report flags).
    const bool choose = iteration_start.has_value();
    const bool on_validation = choose && validates();
    std::string shas;
    for (const auto& s : snapshots_) shas += s.name + ":" + s.sha + "\n";
    const nlohmann::json scale = {{"anchor", eval_anchor_model(r_)}, {"anchor_elo", r_.eval.anchor.elo},
                                  {"validation", on_validation ? files_sha({validation_file()}) : ""}};
    const std::string inputs = sha256_hex(id + "\n" + shas + files_sha(r_.eval.prompts) + judge_identity().dump() + scale.dump());
    Snapshot best = snapshots_.back();
    if (!leader_) return snapshot_from(wait_for(id).at("outputs").at("best"));
    if (manifest_.begin(id, inputs)) {
      best = snapshot_from(manifest_.outputs(id).at("best"));
      return best;
    }
    const EvalRequest req = eval_request(out_ + "/eval/battle", out_ + "/i" + std::to_string(i) + "/eval");
    log::info("flywheel: " + id + " — " + std::to_string(req.models.size()) + " models on the offline test set (" +
              std::to_string(test_.size()) + " prompts)");
    const EvalResult res = evaluate(setup_, *judge_, test_, req);
    crash_point(id, "leaderboard");
    std::optional<EvalResult> val;
    if (on_validation) {
      const auto prompts = data::read_prompt_records({validation_file()});
      const EvalRequest vreq = eval_request(out_ + "/eval/validation", req.out_dir + "/validation");
      log::info("flywheel: " + id + " — the same models on the validation split (" + std::to_string(prompts.size()) +
                " prompts), to choose the snapshot that goes on");
      val = evaluate(setup_, *judge_, prompts, vreq);
      crash_point(id, "validation");
    }
    // The best of this iteration's snapshots (its starting model included) goes on.
    nlohmann::json candidates = nlohmann::json::array();
    if (choose) {
      std::vector<std::string> names = {iteration_start->name};
      for (const auto& s : snapshots_)
        if (s.iteration == i) names.push_back(s.name);
      const std::string pick = choose_best(names, on_validation ? val->leaderboard : res.leaderboard);
      best = *iteration_start;
      for (const auto& s : snapshots_)
        if (s.name == pick) best = s;
      candidates = names;
    }
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
    nlohmann::json outputs = {{"best", snapshot_json(best)}, {"leaderboard", board_json(res.leaderboard)}, {"snapshots", snaps},
                              {"win_rates", win_rates}, {"leaderboard_dir", req.out_dir}, {"battles", res.battles.to_json()},
                              {"anchor", {{"model", req.anchor_model}, {"elo", req.anchor_elo}}}};
    if (choose) {
      outputs["chosen_by"] = on_validation ? "validation" : "test";
      outputs["candidates"] = candidates;
    }
    if (val)
      outputs["validation"] = {{"leaderboard", board_json(val->leaderboard)}, {"prompts", r_.eval.validation_prompts},
                               {"leaderboard_dir", req.out_dir + "/validation"}, {"battles", val->battles.to_json()}};
    manifest_.finish(id, outputs);
    std::string line;
    for (const auto& e : res.leaderboard.entries) line += "  " + e.model + " " + std::to_string(static_cast<int>(e.elo));
    log::info("flywheel: " + id + " — test Elo (" + req.anchor_model + " pinned at " +
              std::to_string(static_cast<int>(req.anchor_elo)) + "):" + line +
              (choose ? "; next: " + best.name + " (chosen on the " + (on_validation ? "validation split" : "test set") + ")" : ""));
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
