// Parity with FastChat's Elo: a fixed battle set (120,000 battles among 24 models, 15 %
// ties, simulated from known strengths with a fixed seed and written as battle JSONL) is
// fitted here and by tests/parity/elo_reference.py, which runs FastChat's compute_mle_elo
// (both its sample-weighted and its duplicated-rows versions) with scikit-learn's
// LogisticRegression and its compute_online_elo. Every rating must agree within 0.5 Elo
// (in practice ~1e-3: scikit-learn's lbfgs stops at tol 1e-6). Ties dropped are compared
// too.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "arena/bradley_terry.h"
#include "arena/elo_simulate.h"
#include "arena/elo_views.h"
#include "core/json_io.h"
#include "core/rng.h"
#include "tests/support/test_tmp.h"

namespace {
using nlohmann::json;
using namespace fw::arena;
constexpr double kTolElo = 0.5;

struct Fixture {
  std::vector<Battle> battles;
  json ref;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    std::vector<std::string> models;
    std::vector<double> strengths;
    fw::Rng rng(2024);
    for (int i = 0; i < 24; ++i) {
      models.push_back("model-" + std::to_string(i));
      strengths.push_back(700 + 600 * rng.uniform01());
    }
    x.battles = simulate_battles(models, strengths, {.battles = 120000, .tie_rate = 0.15, .seed = 77});
    const std::string dir = fw::testing::tmp_dir();
    const std::string in = dir + "/elo_parity_battles.jsonl", out = dir + "/elo_parity_ref." + std::to_string(getpid()) + ".json";
    {
      std::ofstream f(in);
      for (const Battle& b : x.battles) f << battle_to_json(b).dump() << "\n";
    }
    const std::string cmd = std::string(FW_PYTHON) + " " + FW_SOURCE_DIR + "/tests/parity/elo_reference.py " + in + " " + out;
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
    x.ref = fw::read_json_file(out);
    std::filesystem::remove(out);
    return x;
  }();
  return f;
}

double compare(const std::vector<std::string>& models, const std::vector<double>& ours, const json& ref_models,
               const json& theirs, const std::string& what) {
  EXPECT_EQ(ref_models.size(), models.size()) << what;
  double worst = 0;
  for (size_t i = 0; i < ref_models.size(); ++i) {
    const auto it = std::find(models.begin(), models.end(), ref_models[i].get<std::string>());
    if (it == models.end()) {
      ADD_FAILURE() << what << ": reference model " << ref_models[i] << " is not ours";
      continue;
    }
    const double a = ours[static_cast<size_t>(it - models.begin())], b = theirs[i].get<double>();
    EXPECT_NEAR(a, b, kTolElo) << what << " " << *it;
    worst = std::max(worst, std::abs(a - b));
  }
  std::cout << what << ": largest difference " << worst << " Elo\n";
  return worst;
}

TEST(EloParity, BradleyTerryMatchesFastChatsSklearnFit) {
  const Fixture& f = fixture();
  std::cout << "scikit-learn " << f.ref["sklearn_version"].get<std::string>() << "\n";
  const BattleTable t = tabulate_battles(f.battles, TieMode::Half);
  ASSERT_EQ(t.models.size(), 24u);
  const BradleyTerryFit fit = fit_battles(t, {});
  EXPECT_TRUE(fit.converged);
  compare(t.models, fit.elo, f.ref["models"], f.ref["mle_weighted"], "compute_mle_elo (weighted pairs)");
  compare(t.models, fit.elo, f.ref["models"], f.ref["mle_rows"], "compute_mle_elo (duplicated rows)");
  // Sanity: the ratings spread over hundreds of Elo, so 0.5 is a real bound.
  const auto [lo, hi] = std::minmax_element(fit.elo.begin(), fit.elo.end());
  EXPECT_GT(*hi - *lo, 300);
}

TEST(EloParity, TiesDroppedMatchTheFitWithoutTies) {
  const Fixture& f = fixture();
  const BattleTable t = tabulate_battles(f.battles, TieMode::Drop);
  EXPECT_GT(t.ties_dropped, 15000);
  compare(t.models, fit_battles(t, {}).elo, f.ref["models"], f.ref["mle_drop"], "compute_mle_elo without ties");
}

TEST(EloParity, OnlineEloMatchesComputeOnlineElo) {
  const Fixture& f = fixture();
  const BattleTable t = tabulate_battles(f.battles, TieMode::Half);
  const double worst = compare(t.models, online_elo(f.battles, t.models, {}), f.ref["models"], f.ref["online"],
                               "compute_online_elo");
  EXPECT_LT(worst, 1e-6);  // the same arithmetic in the same order
}

}  // namespace
