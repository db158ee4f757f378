// A stage kind registered from outside flywheel/ (tests/integration/copy_stage.cpp, one
// file) runs inside `flywheel run` through the CLI's own code path (apps/cmd_run.cpp):
// recipe parsing checks `stages:` against the registry, the driver battles on the stage's
// slice, the kind copies its input, the gate and the evaluation take the copy as a
// snapshot. An unregistered kind is refused at its key before anything runs (exit 2).
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "apps/commands.h"
#include "core/error.h"
#include "core/json_io.h"
#include "data/synth/task_io.h"
#include "data/synth/tasks.h"
#include "flywheel/snapshot.h"
#include "flywheel/stage.h"
#include "flywheel/stage_registry.h"
#include "tests/integration/tiny_checkpoint.h"
#include "tests/support/test_tmp.h"

namespace fw::testing {
std::unique_ptr<flywheel::Stage> make_copy_stage(const flywheel::StageContext& context);
}

namespace {
namespace fs = std::filesystem;

// `flywheel run ARGS...` as main() runs it: the same subcommand, parsed and run.
void flywheel_run(const std::vector<std::string>& args) {
  CLI::App app;
  CLI::App* run = app.add_subcommand("run");
  const fw::apps::Run go = fw::apps::add_run_command(*run);
  std::vector<std::string> argv = {"run"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::reverse(argv.begin(), argv.end());  // CLI11 takes a vector in reverse order
  app.parse(argv);
  go();
}

std::string recipe(const std::string& out, const std::string& data, const std::string& start) {
  return "output_dir: " + out + "\nseed: 2\ndeterministic: true\n" +
         "target: {name: micro, start: " + start + ", sampling: {max_tokens: 8}}\n" +
         "competitors:\n"
         "  - {name: sim-a, kind: simulated, accuracy: 0.9, seed: 1}\n"
         "  - {name: sim-b, kind: simulated, accuracy: 0.3, seed: 2}\n"
         "judge: {kind: rule}\n"
         "pool: {files: [" + data + "/pool.jsonl], slice_size: 12}\n" +
         "eval: {prompts: [" + data + "/test.jsonl], bootstrap: 10, validation_prompts: 0}\n" +
         "iterations: 1\nstages: [copy]\nheldout_fraction: 0.25\n";
}

TEST(FlywheelStageKind, ARegisteredKindRunsInsideFlywheelRun) {
  const std::string root = fw::testing::tmp_dir() + "/stage_kind";
  fs::create_directories(root);
  auto tasks = fw::synth::generate_tasks({.n = 60, .seed = 4, .max_difficulty = 1});
  fw::synth::write_prompt_jsonl(root + "/pool.jsonl", {tasks.begin(), tasks.begin() + 48});
  fw::synth::write_prompt_jsonl(root + "/test.jsonl", {tasks.begin() + 48, tasks.end()});
  const std::string start = root + "/start";
  fw::testing::make_tiny_checkpoint(start);

  // The kind: its own file, and this one registry call.
  fw::flywheel::register_stage_kind({"copy", "copy", fw::testing::make_copy_stage});

  const std::string out = root + "/run", path = root + "/run.yaml";
  std::ofstream(path) << recipe(out, root, start);
  flywheel_run({path});

  const auto manifest = fw::read_json_file(out + "/manifest.json");
  std::map<std::string, nlohmann::json> stages;
  for (const auto& st : manifest["stages"]) stages[st["id"]] = st;
  ASSERT_EQ(stages.count("i1.copy"), 1u) << manifest.dump(2);
  const auto& copy = stages["i1.copy"];
  EXPECT_EQ(copy["status"], "done");
  const auto& snapshot = copy["outputs"]["snapshot"];
  EXPECT_EQ(snapshot["name"], "micro-I1-copy");
  EXPECT_EQ(snapshot["stage"], "copy");
  EXPECT_EQ(snapshot["path"], out + "/i1/copy/train/final");
  // The driver's part ran around it: the battles on its slice, the gate on its held-out prompts.
  EXPECT_TRUE(fs::exists(out + "/i1/copy/battle/battles.jsonl"));
  EXPECT_EQ(copy["outputs"]["data"]["examples"], 9);  // 12 prompts, 3 held out
  EXPECT_EQ(copy["outputs"]["gate"]["checks"].size(), 1u) << copy["outputs"].dump();
  // The copy is the start, file for file.
  EXPECT_EQ(fw::flywheel::checkpoint_sha256(out + "/i1/copy/train/final"), fw::flywheel::checkpoint_sha256(start));
  // The evaluation ranked it with the others.
  const auto summary = fw::read_json_file(out + "/summary.json");
  ASSERT_EQ(summary["snapshots"].size(), 2u) << summary["snapshots"].dump();
  EXPECT_EQ(summary["snapshots"][1]["name"], "micro-I1-copy");

  // Done: a rerun redoes nothing and the manifest stays as it was.
  flywheel_run({path});
  EXPECT_EQ(fw::read_json_file(out + "/manifest.json"), manifest);

  // A kind nobody registered: refused at its key before anything runs, as bad input (exit 2).
  try {
    flywheel_run({path, "stages=[copy,nope]", "output_dir=" + root + "/refused"});
    FAIL() << "an unknown stage kind was accepted";
  } catch (const fw::Error& e) {
    EXPECT_EQ(fw::exit_code(e), 2);
    const std::string what = e.what();
    EXPECT_NE(what.find("stages[1]"), std::string::npos) << what;
    EXPECT_NE(what.find("nope"), std::string::npos) << what;
    EXPECT_NE(what.find("copy"), std::string::npos) << what;  // the registered kinds are named
  }
  EXPECT_FALSE(fs::exists(root + "/refused"));
}

}  // namespace
