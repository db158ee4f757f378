// Run fingerprints (trainer/run_fingerprint.h): a run folder records what determines its
// weights at the first start, and a rerun that differs in any key outside the resume-safe
// list is refused with every differing key named; config.yaml only ever describes what the
// folder holds; --restart moves a run aside.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/recipe.h"
#include "core/error.h"
#include "core/hash.h"
#include "tests/support/test_tmp.h"
#include "trainer/ppo_recipe.h"
#include "trainer/run_fingerprint.h"
#include "trainer/sft_recipe.h"

namespace {
namespace fs = std::filesystem;
using namespace fw::trainer;
using nlohmann::ordered_json;

std::string fresh_dir() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(fw::testing::tmp_dir()) / "run_fingerprint" / info->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::map<std::string, std::string> keys_of(const std::string& yaml) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : yaml_keys(yaml)) m[k] = v;
  return m;
}

// A tiny SFT recipe in `dir` training on `data`, as the trainers get it (the resolved YAML).
SftRecipe sft_recipe(const std::string& dir, const std::string& data) {
  SftRecipe r;
  r.run.output_dir = dir + "/run";
  r.run.seed = 3;
  r.model.from_scratch.hidden_size = 128;
  r.tokenizer.train_vocab_size = 512;
  r.data.train = {data};
  r.train.max_steps = 20;
  return r;
}

RunIdentity identity(const SftRecipe& r) {
  return {"sft", fw::config::dump_yaml(r), {{"model.path", {r.model.path}},
                                            {"tokenizer.path", {r.tokenizer.path}},
                                            {"data.train", r.data.train, true}}};
}

void expect_refused(const std::string& dir, const SftRecipe& r, const std::vector<std::string>& named,
                    const std::vector<std::string>& not_named = {}) {
  try {
    record_run(dir, identity(r));
    ADD_FAILURE() << "a changed recipe was accepted";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput) << e.what();
    for (const auto& k : named) EXPECT_NE(std::string(e.what()).find(k), std::string::npos) << k << " in " << e.what();
    for (const auto& k : not_named) EXPECT_EQ(std::string(e.what()).find(k), std::string::npos) << k << " in " << e.what();
    EXPECT_NE(std::string(e.what()).find("--restart"), std::string::npos) << e.what();
  }
}

TEST(RunFingerprint, YamlKeysReadEveryKeyOfTheResolvedRecipe) {
  PpoRecipe r;
  r.run.output_dir = "runs/a # not a comment";
  r.data.train = {"a.jsonl", "b c.jsonl"};
  r.ppo.reward_model_path = "rm: final";
  r.ppo.stop_strings = {"\n", "#", "x # y"};
  const std::string yaml = fw::config::dump_yaml(r);
  const auto keys = keys_of(yaml);
  EXPECT_EQ(keys.at("model.from_scratch.hidden_size"), "128");
  EXPECT_EQ(keys.at("optim.lr"), "2e-05");
  EXPECT_NE(keys.at("output_dir").find("# not a comment"), std::string::npos) << keys.at("output_dir");
  EXPECT_NE(keys.at("ppo.reward_model_path").find("rm: final"), std::string::npos);
  EXPECT_NE(keys.at("ppo.stop_strings").find("x # y"), std::string::npos) << keys.at("ppo.stop_strings");
  EXPECT_NE(keys.at("data.train").find("b c.jsonl"), std::string::npos);
  EXPECT_EQ(keys.count("model"), 0u);             // a section is not a value
  EXPECT_EQ(keys.count("model.from_scratch"), 0u);
  EXPECT_EQ(keys.at("model.path"), "\"\"");       // an empty string is one
  // No value carries its field's doc comment.
  for (const auto& [k, v] : keys) EXPECT_EQ(v.find("  #"), std::string::npos) << k << ": " << v;
  // Every field of every section: the dump's leaf lines.
  size_t leaves = 0;
  std::istringstream in(yaml);
  for (std::string line; std::getline(in, line);)
    if (line.find(": ") != std::string::npos && line.back() != ':') ++leaves;
  EXPECT_EQ(keys.size(), leaves);
}

TEST(RunFingerprint, TheResumeSafeKeysAreLengthCadenceAndEvalOnly) {
  for (const char* k : {"train.max_steps", "train.epochs", "train.on_nan", "checkpoint.every_steps",
                        "checkpoint.keep_last", "eval.prompts", "eval.every_steps", "data.eval",
                        "data.eval[1]", "log_every_steps", "output_dir", "threads", "device"})
    EXPECT_TRUE(is_resume_safe(k)) << k;
  for (const char* k : {"seed", "deterministic", "dtype", "train.micro_batch_size", "train.grad_accum", "optim.lr",
                        "schedule.kind", "data.train", "data.max_seq_len", "model.from_scratch.hidden_size",
                        "tokenizer.train_vocab_size", "evaluation", "checkpoints", "data.evaluate", "ppo.kl_coef",
                        "dpo.beta", "checkpoint.resume"})  // resume: a path into another run is other weights
    EXPECT_FALSE(is_resume_safe(k)) << k;
}

// checkpoint.resume may switch between auto and never (this folder's checkpoints or none),
// but a path into another run would continue from other weights.
TEST(RunFingerprint, ResumingFromAnotherRunsCheckpointIsADifference) {
  const std::string dir = fresh_dir();
  write(dir + "/data.jsonl", "{\"messages\": []}\n");
  SftRecipe a = sft_recipe(dir, dir + "/data.jsonl");
  SftRecipe b = a;
  b.checkpoint.resume = "never";
  const auto fa = make_fingerprint(identity(a), ordered_json());
  EXPECT_TRUE(fingerprint_differences(fa, make_fingerprint(identity(b), ordered_json())).empty());
  b.checkpoint.resume = "/elsewhere/run/checkpoint-00000010";
  const auto d = fingerprint_differences(fa, make_fingerprint(identity(b), ordered_json()));
  ASSERT_EQ(d.size(), 1u) << ::testing::PrintToString(d);
  EXPECT_EQ(d[0].rfind("checkpoint.resume:", 0), 0u) << d[0];
}

// A field one fingerprint lacks altogether comes from another flywheel version (recipes
// are dumped whole), so an upgrade does not lock earlier runs out; an added data file does
// count.
TEST(RunFingerprint, AFieldOfAnotherVersionIsNoDifferenceButAnAddedFileIs) {
  ordered_json old_fp = {{"keys", {{"recipe", "sft"}, {"seed", "3"}, {"data.train[0]", "sha256:aa"}}}};
  ordered_json new_fp = {{"keys", {{"recipe", "sft"}, {"seed", "3"}, {"optim.new_knob", "0"}, {"data.train[0]", "sha256:aa"}}}};
  EXPECT_TRUE(fingerprint_differences(old_fp, new_fp).empty());
  EXPECT_TRUE(fingerprint_differences(new_fp, old_fp).empty());
  new_fp["keys"]["data.train[1]"] = "sha256:bb";
  const auto d = fingerprint_differences(old_fp, new_fp);
  ASSERT_EQ(d.size(), 1u) << ::testing::PrintToString(d);
  EXPECT_EQ(d[0].rfind("data.train[1]:", 0), 0u) << d[0];
  new_fp["keys"]["seed"] = "4";
  EXPECT_EQ(fingerprint_differences(old_fp, new_fp).size(), 2u);
}

// A template's keyword arguments are one value: adding a name to them is a change of the
// recipe, not a field of another version.
TEST(RunFingerprint, TemplateKwargsAreOneValueSoAnAddedNameIsAChange) {
  const auto keys = [](const std::string& yaml) {
    ordered_json k = ordered_json::object();
    for (const auto& [key, v] : yaml_keys(yaml)) k[key] = v;
    return ordered_json{{"keys", k}};
  };
  const ordered_json none = keys("model:\n  chat_template_kwargs: {}\n");
  const ordered_json off = keys("model:\n  chat_template_kwargs:\n    enable_thinking: false\n");
  ASSERT_TRUE(off["keys"].contains("model.chat_template_kwargs")) << off.dump();
  EXPECT_EQ(fingerprint_differences(none, off).size(), 1u);
  EXPECT_EQ(fingerprint_differences(off, none).size(), 1u);
  EXPECT_TRUE(fingerprint_differences(off, off).empty());
}

TEST(RunFingerprint, DifferencesNameEachChangedKeyButNotTheSafeOnes) {
  const std::string dir = fresh_dir();
  write(dir + "/data.jsonl", "{\"messages\": []}\n");
  SftRecipe a = sft_recipe(dir, dir + "/data.jsonl");
  SftRecipe b = a;
  b.model.from_scratch.hidden_size = 64;
  b.tokenizer.train_vocab_size = 300;
  b.train.max_steps = 40;               // safe
  b.checkpoint.every_steps = 5;         // safe
  b.eval.prompts = dir + "/held.jsonl"; // safe
  const auto fa = make_fingerprint(identity(a), ordered_json());
  const auto fb = make_fingerprint(identity(b), ordered_json());
  const auto diffs = fingerprint_differences(fa, fb);
  ASSERT_EQ(diffs.size(), 2u) << ::testing::PrintToString(diffs);
  EXPECT_EQ(diffs[0], "model.from_scratch.hidden_size: 128 -> 64");
  EXPECT_EQ(diffs[1], "tokenizer.train_vocab_size: 512 -> 300");
  EXPECT_TRUE(fingerprint_differences(fa, make_fingerprint(identity(a), ordered_json())).empty());
  EXPECT_FALSE(fa["keys"].contains("train.max_steps"));
  EXPECT_EQ(fa["keys"]["recipe"], "sft");
  // Another trainer in the same folder is a difference too.
  RunIdentity as_dpo = identity(a);
  as_dpo.recipe = "dpo";
  const auto d = fingerprint_differences(fa, make_fingerprint(as_dpo, ordered_json()));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], "recipe: sft -> dpo");
}

TEST(RunFingerprint, DataCountsByContentNotByPath) {
  const std::string dir = fresh_dir();
  write(dir + "/data.jsonl", "{\"a\": 1}\n");
  write(dir + "/moved/data.jsonl", "{\"a\": 1}\n");
  const auto base = make_fingerprint(identity(sft_recipe(dir, dir + "/data.jsonl")), ordered_json());
  EXPECT_EQ(base["keys"]["data.train[0]"], "sha256:" + fw::sha256_hex("{\"a\": 1}\n"));
  EXPECT_FALSE(base["keys"].contains("data.train"));  // the path itself is not compared
  // The same content elsewhere: the same run.
  EXPECT_TRUE(fingerprint_differences(
                  base, make_fingerprint(identity(sft_recipe(dir, dir + "/moved/data.jsonl")), ordered_json()))
                  .empty());
  // Other content at the same path: named, with the file.
  write(dir + "/data.jsonl", "{\"a\": 2}\n{\"b\": 3}\n");
  const auto diffs =
      fingerprint_differences(base, make_fingerprint(identity(sft_recipe(dir, dir + "/data.jsonl")), ordered_json()));
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0].rfind("data.train[0]: sha256:", 0), 0u) << diffs[0];
  EXPECT_NE(diffs[0].find("data.jsonl"), std::string::npos) << diffs[0];
  // A second file is a new key.
  write(dir + "/more.jsonl", "{}\n");
  SftRecipe two = sft_recipe(dir, dir + "/data.jsonl");
  two.data.train.push_back(dir + "/more.jsonl");
  const auto more = make_fingerprint(identity(two), ordered_json());
  EXPECT_TRUE(more["keys"].contains("data.train[1]"));
}

TEST(RunFingerprint, AFolderIsFingerprintedByItsWeightFiles) {
  const std::string dir = fresh_dir();
  write(dir + "/model/config.json", "{\"hidden_size\": 8}");
  write(dir + "/model/model.safetensors", "weights");
  write(dir + "/model/README.md", "notes");
  write(dir + "/data.jsonl", "{}\n");
  SftRecipe r = sft_recipe(dir, dir + "/data.jsonl");
  r.model.path = dir + "/model";
  const auto a = make_fingerprint(identity(r), ordered_json());
  write(dir + "/model/README.md", "other notes");  // not a weight file
  EXPECT_TRUE(fingerprint_differences(a, make_fingerprint(identity(r), ordered_json())).empty());
  write(dir + "/model/model.safetensors", "other weights");
  const auto diffs = fingerprint_differences(a, make_fingerprint(identity(r), ordered_json()));
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0].rfind("model.path: ", 0), 0u) << diffs[0];
}

TEST(RunFingerprint, AMissingContentPathIsAnInputErrorNamingTheKey) {
  const std::string dir = fresh_dir();
  try {
    make_fingerprint(identity(sft_recipe(dir, dir + "/missing.jsonl")), ordered_json());
    FAIL() << "a missing data file was accepted";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
    EXPECT_EQ(e.context().key, "data.train[0]");
    EXPECT_NE(std::string(e.what()).find(dir + "/missing.jsonl"), std::string::npos) << e.what();
  }
}

TEST(RunFingerprint, AnUnchangedFileKeepsItsRecordedDigest) {
  const std::string dir = fresh_dir();
  write(dir + "/data.jsonl", "{}\n");
  const RunIdentity id = identity(sft_recipe(dir, dir + "/data.jsonl"));
  auto first = make_fingerprint(id, ordered_json());
  const std::string abs = fs::absolute(dir + "/data.jsonl").lexically_normal().string();
  ASSERT_TRUE(first["files"].contains(abs));
  // The recorded digest is taken while size and mtime are unchanged (the file is not read)...
  first["files"][abs]["sha256"] = "recorded";
  EXPECT_EQ(make_fingerprint(id, first["files"])["keys"]["data.train[0]"], "sha256:recorded");
  // ... and the file is read again once either changes.
  first["files"][abs]["mtime_ns"] = 1;
  EXPECT_EQ(make_fingerprint(id, first["files"])["keys"]["data.train[0]"], "sha256:" + fw::sha256_hex("{}\n"));
}

TEST(RunFingerprint, RecordRunRefusesAChangedRecipeOnceSomethingIsTrained) {
  const std::string dir = fresh_dir();
  write(dir + "/data.jsonl", "{}\n");
  const SftRecipe r = sft_recipe(dir, dir + "/data.jsonl");
  const std::string run = r.run.output_dir;
  EXPECT_EQ(record_run(run, identity(r)), RunFolder::Fresh);
  ASSERT_TRUE(fs::exists(run + "/fingerprint.json"));
  EXPECT_EQ(read(run + "/config.yaml"), fw::config::dump_yaml(r));

  // Nothing trained yet (a run that failed before its tokenizer): the new recipe is recorded.
  SftRecipe wider = r;
  wider.model.from_scratch.hidden_size = 64;
  EXPECT_EQ(record_run(run, identity(wider)), RunFolder::Fresh);
  EXPECT_EQ(read(run + "/config.yaml"), fw::config::dump_yaml(wider));

  // A checkpoint: the folder holds weights of `wider`; r is refused and nothing is rewritten.
  fs::create_directories(run + "/checkpoint-00000010/trainer_state");
  const std::string fingerprint = read(run + "/fingerprint.json");
  SftRecipe changed = r;
  changed.tokenizer.train_vocab_size = 300;
  changed.train.max_steps = 30;
  expect_refused(run, changed, {"model.from_scratch.hidden_size: 64 -> 128", "tokenizer.train_vocab_size: 512 -> 300"},
                 {"train.max_steps: "});
  EXPECT_EQ(read(run + "/config.yaml"), fw::config::dump_yaml(wider));
  EXPECT_EQ(read(run + "/fingerprint.json"), fingerprint);

  // Only safe keys changed: resumed, and config.yaml says so.
  SftRecipe longer = wider;
  longer.train.max_steps = 40;
  longer.checkpoint.every_steps = 10;
  EXPECT_EQ(record_run(run, identity(longer)), RunFolder::Resumed);
  EXPECT_EQ(read(run + "/config.yaml"), fw::config::dump_yaml(longer));

  // Changed data under a trained tokenizer is refused, naming the file's key.
  fs::remove_all(run + "/checkpoint-00000010");
  fs::create_directories(run + "/tokenizer");
  write(dir + "/data.jsonl", "{\"fixed\": true}\n");
  expect_refused(run, longer, {"data.train[0]"});
}

TEST(RunFingerprint, AFolderFromBeforeFingerprintsIsAdoptedOnlyIfItsCheckpointRecipeMatches) {
  const std::string dir = fresh_dir();
  write(dir + "/data.jsonl", "{}\n");
  const SftRecipe r = sft_recipe(dir, dir + "/data.jsonl");
  const std::string run = r.run.output_dir;
  // As an older version left it: config.yaml overwritten by a refused rerun, the checkpoint's
  // own copy the truth.
  SftRecipe other = r;
  other.model.from_scratch.hidden_size = 64;
  write(run + "/config.yaml", fw::config::dump_yaml(other));
  write(run + "/checkpoint-00000010/trainer_state/config.yaml", fw::config::dump_yaml(r));
  expect_refused(run, other, {"model.from_scratch.hidden_size: 128 -> 64"});
  EXPECT_FALSE(fs::exists(run + "/fingerprint.json"));

  SftRecipe longer = r;
  longer.train.max_steps = 50;
  EXPECT_EQ(record_run(run, identity(longer)), RunFolder::Adopted);
  EXPECT_TRUE(fs::exists(run + "/fingerprint.json"));
  EXPECT_EQ(read(run + "/config.yaml"), fw::config::dump_yaml(longer));
  // From now on it is a fingerprinted folder.
  expect_refused(run, other, {"model.from_scratch.hidden_size: 128 -> 64"});
}

TEST(RunFingerprint, AnOldTokenizerWithoutCheckpointsIsDiscarded) {
  const std::string dir = fresh_dir();
  write(dir + "/data.jsonl", "{}\n");
  const SftRecipe r = sft_recipe(dir, dir + "/data.jsonl");
  write(r.run.output_dir + "/tokenizer/tokenizer.model", "trained on something else");
  EXPECT_EQ(record_run(r.run.output_dir, identity(r)), RunFolder::Fresh);
  EXPECT_FALSE(fs::exists(r.run.output_dir + "/tokenizer"));
  // A checkpoint without any record of its recipe cannot be checked: refused.
  const std::string bare = dir + "/bare";
  fs::create_directories(bare + "/checkpoint-00000002");
  try {
    record_run(bare, identity(r));
    FAIL() << "an unverifiable folder was resumed";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
    EXPECT_NE(std::string(e.what()).find("--restart"), std::string::npos) << e.what();
  }
}

TEST(RunFingerprint, MoveRunAsideKeepsEveryEarlierRun) {
  const std::string dir = fresh_dir();
  EXPECT_EQ(move_run_aside(dir + "/run"), "");  // nothing there
  write(dir + "/run/config.yaml", "first");
  const std::string first = move_run_aside(dir + "/run/");
  ASSERT_FALSE(first.empty());
  EXPECT_FALSE(fs::exists(dir + "/run"));
  EXPECT_EQ(fs::path(first).parent_path(), fs::path(dir));
  EXPECT_EQ(fs::path(first).filename().string().rfind("run.old-", 0), 0u) << first;
  EXPECT_EQ(read(first + "/config.yaml"), "first");
  write(dir + "/run/config.yaml", "second");
  const std::string second = move_run_aside(dir + "/run");
  EXPECT_NE(second, first);
  EXPECT_EQ(read(second + "/config.yaml"), "second");
  EXPECT_EQ(read(first + "/config.yaml"), "first");
}

}  // namespace
