// flywheel elo --battles FILE... --out DIR [--bootstrap 100] [--anchor MODEL=ELO]
//              [--ties half|drop] [--seed 0] [--threads 0] [--no-categories]
// Bradley–Terry Elo with bootstrap CIs from battle files, as LMSYS computes it
// (arena/bradley_terry.h). The files are our JSONL (read on --threads threads,
// arena/elo_input.h) or FastChat's JSON arrays, read in the order given. Writes
// DIR/leaderboard.{json,md,html} and, when the battles carry categories,
// DIR/categories/<category>/leaderboard.{json,md}; prints the table. The time of each
// phase goes to the log ("elo timing: ...").
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <memory>

#include "apps/commands.h"
#include "arena/elo_input.h"
#include "arena/elo_run.h"
#include "arena/leaderboard.h"
#include "core/error.h"
#include "core/log.h"

namespace fw::apps {
namespace {

struct EloFlags {
  std::vector<std::string> battles;
  std::string out_dir;
  int bootstrap = 100;
  std::string anchor;  // MODEL=ELO
  std::string ties = "half";
  uint64_t seed = 0;
  int threads = 0;
  bool no_categories = false;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void run_elo(const EloFlags& f) {
  arena::EloOptions o;
  try {
    o.ties = arena::tie_mode_from_name(f.ties);
  } catch (const Error& e) {
    throw_invalid(e.message(), {.key = "--ties", .hint = e.context().hint});
  }
  if (f.bootstrap < 0) throw_invalid("--bootstrap must be >= 0", {.key = "--bootstrap"});
  if (f.threads < 0) throw_invalid("--threads must be >= 0 (0 = all cores)", {.key = "--threads"});
  o.bootstrap = {.rounds = f.bootstrap, .seed = f.seed, .threads = f.threads};
  o.per_category = !f.no_categories;
  if (!f.anchor.empty()) {
    const size_t eq = f.anchor.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == f.anchor.size())
      throw_invalid("--anchor wants MODEL=ELO, got \"" + f.anchor + "\"", {.key = "--anchor", .hint = "e.g. llama-2-70b-chat=1100"});
    o.anchor_model = f.anchor.substr(0, eq);
    try {
      size_t used = 0;
      o.anchor_elo = std::stod(f.anchor.substr(eq + 1), &used);
      if (used != f.anchor.size() - eq - 1) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw_invalid("--anchor: not a number after '=' in \"" + f.anchor + "\"", {.key = "--anchor"});
    }
  }

  const auto t_read = std::chrono::steady_clock::now();
  std::vector<arena::EloBattles> parts;
  nlohmann::ordered_json sources = nlohmann::ordered_json::array();
  for (const auto& path : f.battles) {
    parts.push_back(arena::read_elo_battles(path, f.threads));
    sources.push_back({{"file", path}, {"battles", parts.back().size()}});
  }
  const arena::EloBattles battles = arena::concat_elo_battles(std::move(parts));
  const double read_s = seconds_since(t_read);
  if (battles.size() == 0) throw_invalid("no battles in the input", {.file = f.battles.empty() ? "" : f.battles[0]});

  arena::EloTimings tm;
  const auto t_compute = std::chrono::steady_clock::now();
  arena::Leaderboard lb = arena::compute_leaderboard(battles, o, &tm);
  const double compute_s = seconds_since(t_compute);
  lb.metadata["sources"] = sources;

  const auto t_write = std::chrono::steady_clock::now();
  const auto written = arena::write_leaderboard_files(lb, f.out_dir);
  const double write_s = seconds_since(t_write);

  std::fputs(arena::leaderboard_markdown(lb).c_str(), stdout);
  std::fflush(stdout);
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "elo timing: read %.3f s, tabulate %.3f s, fit %.3f s, bootstrap %.3f s, views %.3f s, "
                "categories %.3f s, compute %.3f s, write %.3f s",
                read_s, tm.tabulate, tm.fit, tm.bootstrap, tm.views, tm.categories, compute_s, write_s);
  log::info(buf);
  log::info("wrote " + std::to_string(written.size()) + " files to " + f.out_dir + " (" +
            std::to_string(battles.size()) + " battles, " + std::to_string(lb.entries.size()) + " models)");
}

}  // namespace

Run add_elo_command(CLI::App& app) {
  auto f = std::make_shared<EloFlags>();
  app.add_option("--battles", f->battles, "battle files: JSONL (ours) or JSON arrays (FastChat)")->required()->expected(1, -1);
  app.add_option("--out", f->out_dir, "output folder (created if missing)")->required();
  app.add_option("--bootstrap", f->bootstrap, "bootstrap rounds (0 = none: the MLE without CIs)")->capture_default_str();
  app.add_option("--anchor", f->anchor, "MODEL=ELO: shift the ratings so MODEL has this Elo");
  app.add_option("--ties", f->ties, "half: a tie is half a win for each side (FastChat) | drop")->capture_default_str();
  app.add_option("--seed", f->seed, "bootstrap seed (same seed, same CIs, for any --threads)")->capture_default_str();
  app.add_option("--threads", f->threads, "threads for reading and the bootstrap (0 = all cores)")->capture_default_str();
  app.add_flag("--no-categories", f->no_categories, "skip the per-category leaderboards");
  return [f] { run_elo(*f); };
}

}  // namespace fw::apps
