// flywheel consistency --ours LEADERBOARD.json --reference LEADERBOARD.json [--out FILE.json]
// How well our leaderboard agrees with a reference one (arena/consistency.h: Spearman,
// Kendall tau-b, Arena-Hard's agreement with confidence and separability, bootstrap
// intervals of the rank correlations). The reference may be any leaderboard.json or a
// plain JSON array of {"model", "elo", ["ci_low", "ci_high"]}. Prints a summary; --out
// writes the metrics as JSON.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "apps/commands.h"
#include "arena/consistency.h"
#include "arena/leaderboard.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"

namespace fw::apps {
namespace {

struct ConsistencyFlags {
  std::string ours, reference, out;
};

void run_consistency(const ConsistencyFlags& f) {
  const arena::Leaderboard ours = arena::read_leaderboard(f.ours);
  const arena::Leaderboard ref = arena::read_leaderboard(f.reference);
  const arena::Consistency c = arena::compare_leaderboards(ours, ref);
  if (c.common.size() < 2)
    throw_invalid("fewer than 2 models in both leaderboards (" + std::to_string(c.common.size()) + ")",
                  {.file = f.reference, .hint = "models are matched by their exact names"});
  for (const auto& m : c.only_ours) log::warn("only in " + f.ours + " (ignored): " + m);
  for (const auto& m : c.only_reference) log::warn("only in " + f.reference + " (ignored): " + m);
  std::fputs(arena::consistency_text(c).c_str(), stdout);
  std::fflush(stdout);
  if (!f.out.empty()) {
    nlohmann::ordered_json j = arena::consistency_to_json(c);
    j["ours"] = f.ours;
    j["reference"] = f.reference;
    write_file_atomic(f.out, j.dump(2) + "\n");
    log::info("wrote " + f.out);
  }
}

}  // namespace

Run add_consistency_command(CLI::App& app) {
  auto f = std::make_shared<ConsistencyFlags>();
  app.add_option("--ours", f->ours, "our leaderboard.json")->required();
  app.add_option("--reference", f->reference, "the reference leaderboard (leaderboard.json or a JSON array)")->required();
  app.add_option("--out", f->out, "write the metrics to this JSON file");
  return [f] { run_consistency(*f); };
}

}  // namespace fw::apps
