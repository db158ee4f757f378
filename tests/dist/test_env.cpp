// Reading torchrun's / Slurm's variables: table-driven, every malformed case an error
// naming the variable.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/error.h"
#include "dist/env.h"

namespace {
using fw::dist::DistEnv;
using fw::dist::read_dist_env;
using Vars = std::map<std::string, std::string>;

DistEnv read(const Vars& vars) {
  return read_dist_env([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

const Vars kTorchrun = {{"RANK", "3"},          {"WORLD_SIZE", "4"},         {"LOCAL_RANK", "1"},
                        {"LOCAL_WORLD_SIZE", "2"}, {"MASTER_ADDR", "10.0.0.7"}, {"MASTER_PORT", "29511"},
                        {"TORCHELASTIC_USE_AGENT_STORE", "True"}, {"TORCHELASTIC_RESTART_COUNT", "2"}};

Vars with(Vars v, const std::string& key, const char* value) {
  if (value) v[key] = value;
  else v.erase(key);
  return v;
}

TEST(DistEnv, TorchrunVariables) {
  const DistEnv d = read(kTorchrun);
  EXPECT_EQ(d.source, "torchrun");
  EXPECT_EQ(d.rank, 3);
  EXPECT_EQ(d.world_size, 4);
  EXPECT_EQ(d.local_rank, 1);
  EXPECT_EQ(d.local_world_size, 2);
  EXPECT_EQ(d.master_addr, "10.0.0.7");
  EXPECT_EQ(d.master_port, 29511);
  EXPECT_TRUE(d.agent_store);
  EXPECT_EQ(d.restart_count, 2);
  EXPECT_TRUE(d.distributed());
  EXPECT_NE(d.describe().find("rank 3 of 4"), std::string::npos);
  // flywheel-launch sets no agent store: rank 0 hosts it.
  EXPECT_FALSE(read(with(kTorchrun, "TORCHELASTIC_USE_AGENT_STORE", nullptr)).agent_store);
}

TEST(DistEnv, NothingSetIsRankZeroOfOne) {
  const DistEnv d = read({});
  EXPECT_EQ(d.source, "none");
  EXPECT_EQ(d.rank, 0);
  EXPECT_EQ(d.world_size, 1);
  EXPECT_FALSE(d.distributed());
}

TEST(DistEnv, SlurmVariables) {
  const DistEnv d = read({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"},
                          {"SLURM_NTASKS_PER_NODE", "4(x2)"}, {"MASTER_ADDR", "node01"}, {"MASTER_PORT", "29500"}});
  EXPECT_EQ(d.source, "slurm");
  EXPECT_EQ(d.rank, 5);
  EXPECT_EQ(d.world_size, 8);
  EXPECT_EQ(d.local_rank, 1);
  EXPECT_EQ(d.local_world_size, 4);
  EXPECT_EQ(d.master_addr, "node01");
  // torchrun's variables win when both are set (torchrun started inside an allocation).
  Vars both = kTorchrun;
  both["SLURM_PROCID"] = "0";
  both["SLURM_NTASKS"] = "1";
  EXPECT_EQ(read(both).source, "torchrun");
}

TEST(DistEnv, BadVariablesNameTheVariable) {
  struct Case {
    Vars vars;
    const char* expected;
  };
  const Case cases[] = {
      {with(kTorchrun, "RANK", "4"), "RANK='4' is not an integer in [0, 3]"},
      {with(kTorchrun, "RANK", "x"), "RANK='x'"},
      {with(kTorchrun, "WORLD_SIZE", "0"), "WORLD_SIZE='0'"},
      {with(kTorchrun, "LOCAL_RANK", nullptr), "LOCAL_RANK is not set"},
      {with(kTorchrun, "LOCAL_RANK", "2"), "LOCAL_RANK='2'"},
      {with(kTorchrun, "LOCAL_WORLD_SIZE", "3"), "not a multiple of LOCAL_WORLD_SIZE 3"},
      {with(kTorchrun, "MASTER_ADDR", nullptr), "MASTER_ADDR is not set"},
      {with(kTorchrun, "MASTER_PORT", nullptr), "MASTER_PORT is not set"},
      {with(kTorchrun, "MASTER_PORT", "70000"), "MASTER_PORT='70000'"},
      {{{"SLURM_PROCID", "2"}, {"SLURM_NTASKS", "2"}}, "SLURM_PROCID='2'"},
      {{{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}}, "MASTER_ADDR is not set"},
  };
  for (const Case& c : cases) {
    try {
      read(c.vars);
      ADD_FAILURE() << "no error, expected: " << c.expected;
    } catch (const fw::Error& e) {
      EXPECT_EQ(e.kind(), fw::ErrorKind::InvalidInput);
      EXPECT_NE(std::string(e.what()).find(c.expected), std::string::npos) << e.what();
    }
  }
}

}  // namespace
