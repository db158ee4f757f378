// flywheel synth --out DIR --n N --seed S [--categories a,b] [--min-difficulty 1]
//                [--max-difficulty 3] [--heldout FRACTION] [--heldout-by task|problem]
// Generates the synthetic verifiable task domain (data/synth/tasks.h) and writes
//   DIR/prompts.jsonl   every task, prompt JSONL with references
//   DIR/train.jsonl     the training split, prompt JSONL (PPO prompts)
//   DIR/sft.jsonl       the training split as SFT JSONL (prompt + canonical reply)
//   DIR/heldout.jsonl   the held-out split, prompt JSONL
//   DIR/preferences.jsonl, DIR/heldout_preferences.jsonl
//                       the same splits as preference pairs: canonical reply vs a wrong one
//   DIR/stats.json      the options and counts per category and difficulty, per split
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/strings.h"
#include "data/synth/task_io.h"
#include "data/synth/tasks.h"

namespace fw::apps {
namespace fs = std::filesystem;
namespace {

struct SynthFlags {
  std::string out_dir;
  int64_t n = 1000;
  uint64_t seed = 0;
  std::string categories;  // comma-separated; empty = all
  int min_difficulty = synth::kMinDifficulty;
  int max_difficulty = synth::kMaxDifficulty;
  std::string difficulty_weights;  // comma-separated, one per level; empty = uniform
  double heldout = 0.1;
  std::string heldout_by = "task";
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  for (auto& part : split(s, ',')) {
    size_t b = part.find_first_not_of(" \t"), e = part.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(part.substr(b, e - b + 1));
  }
  return out;
}

void run_synth(const SynthFlags& f) {
  synth::GenerateOptions opts;
  opts.n = f.n;
  opts.seed = f.seed;
  opts.categories = split_list(f.categories);
  opts.min_difficulty = f.min_difficulty;
  opts.max_difficulty = f.max_difficulty;
  for (const auto& w : split_list(f.difficulty_weights)) {
    try {
      size_t used = 0;
      opts.difficulty_weights.push_back(std::stod(w, &used));
      if (used != w.size()) throw std::invalid_argument(w);
    } catch (const std::exception&) {
      throw_invalid("not a number: '" + w + "'", {.key = "--difficulty-weights"});
    }
  }
  if (f.heldout_by != "task" && f.heldout_by != "problem")
    throw_invalid("unknown --heldout-by '" + f.heldout_by + "'", {.key = "--heldout-by", .hint = "task | problem"});
  const synth::SplitBy by = synth::split_by_from_name(f.heldout_by);
  if (!(f.heldout >= 0.0 && f.heldout < 1.0))
    throw_invalid("--heldout must be in [0, 1)", {.key = "--heldout"});

  if (f.n < 1) throw_invalid("--n must be >= 1, got " + std::to_string(f.n), {.key = "--n"});
  std::vector<synth::Task> tasks;
  try {
    tasks = synth::generate_tasks(opts);  // validates the options
  } catch (const Error& e) {
    // Name the flag rather than the library's option field.
    ErrorContext ctx = e.context();
    std::string flag = ctx.key;
    for (char& c : flag)
      if (c == '_') c = '-';
    if (!flag.empty()) ctx.key = "--" + flag;
    throw Error(e.kind(), e.message(), ctx);
  }
  synth::Split split = synth::split_heldout(tasks, f.heldout, f.seed, by);

  std::error_code ec;
  fs::create_directories(f.out_dir, ec);
  if (ec) throw_runtime("cannot create output folder: " + ec.message(), {.file = f.out_dir});
  const fs::path dir(f.out_dir);
  synth::write_prompt_jsonl((dir / "prompts.jsonl").string(), tasks);
  synth::write_prompt_jsonl((dir / "train.jsonl").string(), split.train);
  synth::write_sft_jsonl((dir / "sft.jsonl").string(), split.train);
  synth::write_prompt_jsonl((dir / "heldout.jsonl").string(), split.heldout);
  synth::write_preference_jsonl((dir / "preferences.jsonl").string(), split.train, static_cast<uint64_t>(f.seed));
  synth::write_preference_jsonl((dir / "heldout_preferences.jsonl").string(), split.heldout,
                                static_cast<uint64_t>(f.seed) + 1);

  nlohmann::ordered_json stats;
  stats["seed"] = f.seed;
  stats["n"] = f.n;
  stats["categories"] = opts.categories.empty() ? synth::all_categories() : opts.categories;
  stats["min_difficulty"] = f.min_difficulty;
  stats["max_difficulty"] = f.max_difficulty;
  if (!opts.difficulty_weights.empty()) stats["difficulty_weights"] = opts.difficulty_weights;
  stats["heldout_fraction"] = f.heldout;
  stats["heldout_by"] = f.heldout_by;
  stats["all"] = synth::task_stats(tasks);
  stats["train"] = synth::task_stats(split.train);
  stats["heldout"] = synth::task_stats(split.heldout);
  write_file_atomic((dir / "stats.json").string(), stats.dump(2) + "\n");

  log::info("wrote " + std::to_string(tasks.size()) + " tasks (" + std::to_string(split.train.size()) + " train, " +
            std::to_string(split.heldout.size()) + " held out) to " + f.out_dir);
}

}  // namespace

Run add_synth_command(CLI::App& app) {
  auto f = std::make_shared<SynthFlags>();
  app.add_option("--out", f->out_dir, "output folder (created if missing)")->required();
  app.add_option("--n", f->n, "number of tasks (>= 1)")->capture_default_str();
  app.add_option("--seed", f->seed, "generation seed (same seed, same tasks)")->capture_default_str();
  app.add_option("--categories", f->categories,
                 "comma-separated subset of: " + join(synth::all_categories(), ", ") + " (default: all)");
  app.add_option("--min-difficulty", f->min_difficulty, "lowest level (1..3)")->capture_default_str();
  app.add_option("--max-difficulty", f->max_difficulty, "highest level (1..3)")->capture_default_str();
  app.add_option("--difficulty-weights", f->difficulty_weights,
                 "comma-separated weight per level from min to max (default: uniform)");
  app.add_option("--heldout", f->heldout, "fraction of tasks held out of sft.jsonl, in [0, 1)")->capture_default_str();
  app.add_option("--heldout-by", f->heldout_by,
                 "task: a random i.i.d. split | problem: whole problems held out, so no held-out "
                 "problem appears in training")
      ->capture_default_str();
  return [f] { run_synth(*f); };
}

}  // namespace fw::apps
