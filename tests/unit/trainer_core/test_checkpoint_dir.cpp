#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "tests/support/test_tmp.h"
#include "core/error.h"
#include "core/hash.h"
#include "trainer/checkpoint_dir.h"

namespace {
namespace fs = std::filesystem;
using namespace fw::trainer;

// A fresh, empty run folder per test.
std::string fresh_dir() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(fw::testing::tmp_dir()) / "trainer_core_ckpt" /
                       (std::string(info->test_suite_name()) + "_" + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 2654435761u + static_cast<size_t>(seed) * 97u) >> 7);
  return s;
}

// What a recipe writes: HF files at the top, its state in trainer_state/ (the optimizer
// file is > 1 MiB so hashing streams several chunks).
void write_fake_checkpoint(const std::string& dir, int64_t step) {
  const fs::path d(dir);
  write_bytes(d / "config.json", "{\"model_type\": \"llama\"}\n");
  write_bytes(d / "model.safetensors", pattern(4096, static_cast<int>(step)));
  write_bytes(d / "trainer_state" / "optimizer.pt", pattern((2u << 20) + 3, static_cast<int>(step) + 1));
  write_bytes(d / "trainer_state" / "state.json", "{\"step\": " + std::to_string(step) + "}\n");
  write_bytes(d / "trainer_state" / "rng" / "rank0.bin", pattern(64, 5));
}

std::string save(const std::string& out, int64_t step, int keep_last = 0) {
  return save_checkpoint(out, step, [step](const std::string& d) { write_fake_checkpoint(d, step); },
                         {.keep_last = keep_last});
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void flip_byte(const fs::path& p, std::streamoff offset) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(offset);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x01);
  f.seekp(offset);
  f.write(&c, 1);
}

// find_latest_checkpoint with stderr captured.
std::optional<CheckpointInfo> find_latest(const std::string& out, std::string* warnings) {
  testing::internal::CaptureStderr();
  auto r = find_latest_checkpoint(out);
  *warnings = testing::internal::GetCapturedStderr();
  return r;
}

TEST(CheckpointDir, Names) {
  EXPECT_EQ(checkpoint_dir_name(20), "checkpoint-00000020");
  EXPECT_EQ(checkpoint_dir_name(0), "checkpoint-00000000");
  EXPECT_EQ(checkpoint_dir_name(123456789), "checkpoint-123456789");
  EXPECT_EQ(parse_checkpoint_dir_name("checkpoint-00000020"), 20);
  EXPECT_EQ(parse_checkpoint_dir_name("checkpoint-7"), 7);  // HF-style unpadded names too
  EXPECT_EQ(parse_checkpoint_dir_name("checkpoint-"), std::nullopt);
  EXPECT_EQ(parse_checkpoint_dir_name("checkpoint-12a"), std::nullopt);
  EXPECT_EQ(parse_checkpoint_dir_name(".staging-checkpoint-00000020-12"), std::nullopt);
  EXPECT_THROW(checkpoint_dir_name(-1), fw::Error);
}

TEST(CheckpointDir, SaveWritesFilesAndManifest) {
  auto out = fresh_dir();
  auto path = save(out, 10);
  EXPECT_EQ(path, (fs::path(out) / "checkpoint-00000010").string());
  EXPECT_EQ(entries(out), (std::vector<std::string>{"checkpoint-00000010"}));  // no staging left

  auto m = nlohmann::json::parse(read_all(fs::path(path) / "trainer_state" / "manifest.json"));
  EXPECT_EQ(m["format_version"], 1);
  EXPECT_EQ(m["step"], 10);
  EXPECT_TRUE(std::regex_match(m["created"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  const auto& files = m["files"];
  ASSERT_EQ(files.size(), 5u);  // every file except the manifest itself
  EXPECT_FALSE(files.contains("trainer_state/manifest.json"));
  for (const char* rel : {"config.json", "model.safetensors", "trainer_state/optimizer.pt",
                          "trainer_state/state.json", "trainer_state/rng/rank0.bin"}) {
    ASSERT_TRUE(files.contains(rel)) << rel;
    const fs::path f = fs::path(path) / rel;
    EXPECT_EQ(files[rel]["bytes"].get<uint64_t>(), fs::file_size(f)) << rel;
    EXPECT_EQ(files[rel]["sha256"], fw::sha256_file(f.string())) << rel;
  }
  EXPECT_EQ(verify_checkpoint(path), "");
}

TEST(CheckpointDir, KeepLastPrunesOlderCheckpoints) {
  auto out = fresh_dir();
  save(out, 10, 2);
  save(out, 20, 2);
  save(out, 30, 2);
  EXPECT_EQ(entries(out), (std::vector<std::string>{"checkpoint-00000020", "checkpoint-00000030"}));
  auto latest = find_latest_checkpoint(out);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->step, 30);
  EXPECT_EQ(latest->path, (fs::path(out) / "checkpoint-00000030").string());
}

TEST(CheckpointDir, KeepLastZeroKeepsAll) {
  auto out = fresh_dir();
  for (int64_t s : {1, 2, 3, 4}) save(out, s, 0);
  EXPECT_EQ(list_checkpoints(out).size(), 4u);
  EXPECT_EQ(list_checkpoints(out).front().step, 4);
}

TEST(CheckpointDir, JustSavedCheckpointIsAlwaysKept) {
  // Newer checkpoints from an abandoned run (resumed from an earlier step) must not push
  // out the one just written.
  auto out = fresh_dir();
  save(out, 30);
  save(out, 40);
  save(out, 25, 2);
  EXPECT_EQ(entries(out), (std::vector<std::string>{"checkpoint-00000025", "checkpoint-00000040"}));
}

TEST(CheckpointDir, PruneRemovesIncompleteOlderFolders) {
  auto out = fresh_dir();
  write_bytes(fs::path(out) / "checkpoint-00000005" / "model.safetensors", "partial");
  save(out, 10, 1);
  EXPECT_EQ(entries(out), (std::vector<std::string>{"checkpoint-00000010"}));
}

TEST(CheckpointDir, FindLatestReturnsNewest) {
  auto out = fresh_dir();
  save(out, 10);
  save(out, 20);
  std::string warnings;
  auto latest = find_latest(out, &warnings);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->step, 20);
  EXPECT_EQ(warnings.find("warning"), std::string::npos) << warnings;
}

TEST(CheckpointDir, FindLatestOnMissingOrEmptyFolder) {
  auto out = fresh_dir();
  EXPECT_FALSE(find_latest_checkpoint(out));
  EXPECT_FALSE(find_latest_checkpoint(out + "/nope"));
}

struct Corruption {
  const char* name;
  std::function<void(const fs::path& ckpt)> corrupt;
  const char* problem;  // expected in the warning, after "checkpoint-00000020: "
};
void PrintTo(const Corruption& c, std::ostream* os) { *os << c.name; }

class CorruptNewest : public testing::TestWithParam<Corruption> {};

TEST_P(CorruptNewest, IsSkippedWithWarningForThePreviousOne) {
  auto out = fresh_dir();
  save(out, 10);
  auto newest = save(out, 20);
  GetParam().corrupt(newest);

  EXPECT_NE(verify_checkpoint(newest), "");
  std::string warnings;
  auto latest = find_latest(out, &warnings);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->step, 10);
  // One warning line: "checkpoint-00000020: <problem>[ (details)]; skipping it for the previous one".
  const std::string start = std::string("checkpoint-00000020: ") + GetParam().problem;
  const size_t at = warnings.find(start);
  ASSERT_NE(at, std::string::npos) << "expected: " << start << "\ngot: " << warnings;
  const std::string line = warnings.substr(at, warnings.find('\n', at) - at);
  EXPECT_TRUE(line.ends_with("; skipping it for the previous one")) << line;
}

const fs::path kOpt = "trainer_state/optimizer.pt";
const fs::path kManifest = "trainer_state/manifest.json";

INSTANTIATE_TEST_SUITE_P(
    CheckpointDir, CorruptNewest,
    testing::Values(
        Corruption{"FlippedByte", [](const fs::path& c) { flip_byte(c / kOpt, (1 << 20) + 17); },
                   "trainer_state/optimizer.pt: sha256 mismatch (torn or corrupt)"},
        Corruption{"Truncated",
                   [](const fs::path& c) { fs::resize_file(c / "model.safetensors", 1000); },
                   "model.safetensors: 1000 bytes, the manifest says 4096 (truncated or torn)"},
        Corruption{"ManifestDeleted", [](const fs::path& c) { fs::remove(c / kManifest); },
                   "trainer_state/manifest.json: missing (the save did not finish, or the file was deleted)"},
        Corruption{"FileDeleted", [](const fs::path& c) { fs::remove(c / "config.json"); },
                   "config.json: missing"},
        Corruption{"ManifestTorn",
                   [](const fs::path& c) {
                     std::string m = read_all(c / kManifest);
                     write_bytes(c / kManifest, m.substr(0, m.size() / 2));
                   },
                   "trainer_state/manifest.json: not valid JSON"},
        Corruption{"UnknownFormatVersion",
                   [](const fs::path& c) {
                     auto m = nlohmann::json::parse(read_all(c / kManifest));
                     m["format_version"] = 99;
                     write_bytes(c / kManifest, m.dump());
                   },
                   "trainer_state/manifest.json: format_version 99 is not supported (this build reads 1)"},
        Corruption{"StepMismatch",
                   [](const fs::path& c) {
                     auto m = nlohmann::json::parse(read_all(c / kManifest));
                     m["step"] = 30;
                     write_bytes(c / kManifest, m.dump());
                   },
                   "trainer_state/manifest.json: step 30 does not match the folder name (step 20)"},
        Corruption{"UnsafePath",
                   [](const fs::path& c) {
                     auto m = nlohmann::json::parse(read_all(c / kManifest));
                     m["files"]["../escape"] = {{"bytes", 1}, {"sha256", std::string(64, '0')}};
                     write_bytes(c / kManifest, m.dump());
                   },
                   "trainer_state/manifest.json: unsafe file path '../escape'"}),
    [](const testing::TestParamInfo<Corruption>& info) { return std::string(info.param.name); });

TEST(CheckpointDir, StagingFolderFromCrashIsIgnoredAndCleanedUp) {
  auto out = fresh_dir();
  save(out, 10);
  // A save of step 20 that crashed before its rename: complete-looking contents, even a
  // manifest, but still under the staging name.
  const fs::path stale = fs::path(out) / ".staging-checkpoint-00000020-999999";
  fs::copy(fs::path(out) / "checkpoint-00000010", stale, fs::copy_options::recursive);
  // And a half-written folder under a final name (a non-atomic writer): no manifest.
  write_bytes(fs::path(out) / "checkpoint-00000030" / "model.safetensors", "half");

  std::string warnings;
  auto latest = find_latest(out, &warnings);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->step, 10);
  EXPECT_NE(warnings.find("checkpoint-00000030: trainer_state/manifest.json: missing"), std::string::npos)
      << warnings;
  EXPECT_EQ(warnings.find(".staging"), std::string::npos) << warnings;

  save(out, 20, 2);  // the next save removes the stale staging folder (and, keep_last 2, 30)
  EXPECT_EQ(entries(out), (std::vector<std::string>{"checkpoint-00000010", "checkpoint-00000020"}));
}

TEST(CheckpointDir, AllInvalidGivesNothing) {
  auto out = fresh_dir();
  auto only = save(out, 10);
  fs::remove(fs::path(only) / "trainer_state" / "state.json");
  std::string warnings;
  EXPECT_FALSE(find_latest(out, &warnings));
  EXPECT_NE(warnings.find("checkpoint-00000010: trainer_state/state.json: missing; skipping it (no earlier "
                          "checkpoint)"),
            std::string::npos)
      << warnings;
}

TEST(CheckpointDir, ThrowingWriterLeavesNoTrace) {
  auto out = fresh_dir();
  save(out, 10);
  EXPECT_THROW(save_checkpoint(out, 20,
                               [](const std::string& d) {
                                 write_fake_checkpoint(d, 20);
                                 throw std::runtime_error("disk full (simulated)");
                               }),
               std::runtime_error);
  EXPECT_EQ(entries(out), (std::vector<std::string>{"checkpoint-00000010"}));
  EXPECT_EQ(verify_checkpoint((fs::path(out) / "checkpoint-00000010").string()), "");
}

TEST(CheckpointDir, ThrowingWriterDoesNotTouchAnExistingCheckpointOfTheSameStep) {
  auto out = fresh_dir();
  auto path = save(out, 10);
  EXPECT_THROW(save_checkpoint(out, 10, [](const std::string&) { throw std::runtime_error("boom"); }),
               std::runtime_error);
  EXPECT_EQ(entries(out), (std::vector<std::string>{"checkpoint-00000010"}));
  EXPECT_EQ(verify_checkpoint(path), "");
}

TEST(CheckpointDir, SymlinksAreRefused) {
  auto out = fresh_dir();
  EXPECT_THROW(save_checkpoint(out, 10,
                               [](const std::string& d) {
                                 write_fake_checkpoint(d, 10);
                                 fs::create_symlink("/etc/hostname", fs::path(d) / "link.bin");
                               }),
               fw::Error);
  EXPECT_TRUE(entries(out).empty());
}

TEST(CheckpointDir, SavingTheSameStepReplacesIt) {
  auto out = fresh_dir();
  save(out, 10);
  auto path = save_checkpoint(out, 10, [](const std::string& d) {
    write_bytes(fs::path(d) / "model.safetensors", "second version");
  });
  EXPECT_EQ(entries(out), (std::vector<std::string>{"checkpoint-00000010"}));
  EXPECT_EQ(read_all(fs::path(path) / "model.safetensors"), "second version");
  EXPECT_FALSE(fs::exists(fs::path(path) / "config.json"));  // nothing of the old one is left
  EXPECT_EQ(verify_checkpoint(path), "");
}

TEST(CheckpointDir, ParseResumeMode) {
  EXPECT_EQ(parse_resume_mode("auto").kind, ResumeMode::Kind::Auto);
  EXPECT_EQ(parse_resume_mode(" never ").kind, ResumeMode::Kind::Never);
  auto p = parse_resume_mode("runs/a/checkpoint-00000020");
  EXPECT_EQ(p.kind, ResumeMode::Kind::Path);
  EXPECT_EQ(p.path, "runs/a/checkpoint-00000020");
  try {
    parse_resume_mode("  ");
    FAIL() << "expected fw::Error";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
    EXPECT_EQ(e.context().key, "resume");
  }
}

TEST(CheckpointDir, ResolveResume) {
  auto out = fresh_dir();
  testing::internal::CaptureStderr();
  EXPECT_FALSE(resolve_resume(parse_resume_mode("auto"), out));  // nothing yet: fresh
  auto c10 = save(out, 10);
  auto c20 = save(out, 20);
  EXPECT_FALSE(resolve_resume(parse_resume_mode("never"), out));
  auto a = resolve_resume(parse_resume_mode("auto"), out);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->step, 20);
  auto p = resolve_resume(parse_resume_mode(c10), out);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->step, 10);
  EXPECT_EQ(p->path, c10);

  // A copy under another name resumes with the step from its manifest.
  const auto copy = fs::path(out) / "best";
  fs::copy(c20, copy, fs::copy_options::recursive);
  auto b = resolve_resume(parse_resume_mode(copy.string()), out);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->step, 20);

  flip_byte(fs::path(c20) / "model.safetensors", 5);
  try {
    resolve_resume(parse_resume_mode(c20), out);
    FAIL() << "expected fw::Error";
  } catch (const fw::Error& e) {
    EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
    EXPECT_EQ(e.context().key, "resume");
    EXPECT_NE(e.message().find("model.safetensors: sha256 mismatch (torn or corrupt)"), std::string::npos)
        << e.message();
  }
  try {
    resolve_resume(parse_resume_mode(out + "/checkpoint-00000099"), out);
    FAIL() << "expected fw::Error";
  } catch (const fw::Error& e) {
    EXPECT_NE(e.message().find("does not exist"), std::string::npos) << e.message();
  }
  testing::internal::GetCapturedStderr();
}

}  // namespace
