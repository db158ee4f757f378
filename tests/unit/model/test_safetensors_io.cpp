#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>

#include "tests/support/test_tmp.h"
#include "core/error.h"
#include "model/safetensors_io.h"

namespace {
namespace fs = std::filesystem;
using fw::model::NamedTensors;

std::string fresh_dir(const std::string& name) {
  std::string d = fw::testing::tmp_dir() + "/st_" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(SafetensorsIo, RoundTripsEveryDtype) {
  NamedTensors ts = {
      {"f32", at::randn({3, 4})},
      {"bf16", at::randn({5}).to(at::kBFloat16)},
      {"f16", at::randn({2, 2}).to(at::kHalf)},
      {"i64", at::arange(7, at::kLong)},
      {"empty", at::empty({0, 3})},
      {"scalar", at::tensor(3.5)},
  };
  const std::string path = fresh_dir("dtypes") + "/t.safetensors";
  fw::model::save_safetensors(path, ts);
  auto back = fw::model::load_safetensors(path);
  ASSERT_EQ(back.size(), ts.size());
  for (const auto& [name, t] : ts) {
    auto it = std::find_if(back.begin(), back.end(), [&](const auto& p) { return p.first == name; });
    ASSERT_NE(it, back.end()) << name;
    EXPECT_EQ(it->second.scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(at::equal(it->second, t)) << name;
  }
}

TEST(SafetensorsIo, ShardedRoundTripWritesAnIndex) {
  NamedTensors ts;
  for (int i = 0; i < 6; ++i) ts.emplace_back("w" + std::to_string(i), at::randn({64, 64}));  // 16 KiB each
  const std::string dir = fresh_dir("sharded");
  fw::model::save_safetensors_dir(dir, ts, /*max_shard_bytes=*/40000);
  EXPECT_TRUE(fs::exists(dir + "/model.safetensors.index.json"));
  EXPECT_TRUE(fs::exists(dir + "/model-00003-of-00003.safetensors"));
  auto back = fw::model::load_safetensors_dir(dir);
  ASSERT_EQ(back.size(), 6u);
  for (const auto& [name, t] : back) {
    int i = std::stoi(name.substr(1));
    EXPECT_TRUE(at::equal(t, ts[i].second)) << name;
  }
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string load_error(const std::string& dir) {
  try {
    fw::model::load_safetensors_dir(dir);
  } catch (const fw::Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(SafetensorsIo, HostileIndexIsRejected) {
  const std::string dir = fresh_dir("hostile_index");
  fw::model::save_safetensors(dir + "/a.safetensors", {{"x", at::ones({2})}});
  write_text(dir + "/model.safetensors.index.json", R"({"weight_map": {"x": "../a.safetensors"}})");
  EXPECT_NE(load_error(dir).find("not a plain file name"), std::string::npos) << load_error(dir);
  write_text(dir + "/model.safetensors.index.json", R"({"weight_map": {"x": "a.safetensors", "y": "a.safetensors"}})");
  EXPECT_NE(load_error(dir).find("does not contain it"), std::string::npos) << load_error(dir);
  write_text(dir + "/model.safetensors.index.json", R"({"weight_map": {}})");
  EXPECT_NE(load_error(dir).find("lists no tensors"), std::string::npos) << load_error(dir);
  fw::model::save_safetensors(dir + "/b.safetensors", {{"x", at::ones({2})}, {"z", at::ones({1})}});
  write_text(dir + "/model.safetensors.index.json", R"({"weight_map": {"x": "b.safetensors"}})");
  EXPECT_NE(load_error(dir).find("not listed"), std::string::npos) << load_error(dir);
  write_text(dir + "/model.safetensors.index.json", R"({"weight_map": [1]})");
  EXPECT_NE(load_error(dir).find("weight_map"), std::string::npos) << load_error(dir);
  write_text(dir + "/model.safetensors.index.json", R"({"weight_map": {"x": "missing.safetensors"}})");
  EXPECT_NE(load_error(dir).find("missing.safetensors"), std::string::npos) << load_error(dir);
}

TEST(SafetensorsIo, EmptyFolderSaysWhatIsMissing) {
  EXPECT_NE(load_error(fresh_dir("empty")).find("no model.safetensors"), std::string::npos);
}

}  // namespace
