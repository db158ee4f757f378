#include "flywheel/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "arena/sft_selection.h"
#include "core/atomic_file.h"
#include "flywheel/manifest.h"

namespace fs = std::filesystem;

namespace fw::flywheel {
namespace {

using Json = nlohmann::json;

std::string fmt(double v, int digits = 0) {
  if (!std::isfinite(v)) return "–";
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << v;
  return s.str();
}

std::string esc(const std::string& t) {
  std::string o;
  for (char c : t) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

std::string rel(const std::string& out_dir, const std::string& path) {
  std::error_code ec;
  auto r = fs::relative(path, out_dir, ec);
  return ec || r.empty() ? path : r.string();
}

double num(const Json& j, const char* k) {
  return j.contains(k) && j[k].is_number() ? j[k].get<double>() : std::nan("");
}

struct Facts {
  std::vector<const Json*> evals;   // done evaluation stages, in order
  std::vector<const Json*> stages;  // done or running training stages, in order
  Json final_board = Json::array();
  Json snapshots = Json::array();
  std::vector<std::string> competitors;
};

Facts gather(const Json& manifest, const FlywheelRecipe& r) {
  Facts f;
  for (const auto& s : manifest["stages"]) {
    const std::string id = s.value("id", "");
    if (id.size() > 5 && id.substr(id.size() - 5) == ".eval") {
      if (s.value("status", "") == "done") f.evals.push_back(&s);
    } else if (id != "split") {
      f.stages.push_back(&s);
    }
  }
  if (!f.evals.empty()) {
    f.final_board = f.evals.back()->at("outputs").at("leaderboard");
    f.snapshots = f.evals.back()->at("outputs").at("snapshots");
  }
  for (const auto& c : r.competitors) f.competitors.push_back(c.name);
  return f;
}

const Json* board_entry(const Json& board, const std::string& model) {
  for (const auto& e : board)
    if (e.value("model", "") == model) return &e;
  return nullptr;
}

// Elo of each snapshot with CI whiskers, the competitors as dashed lines.
std::string elo_chart(const Facts& f) {
  if (f.snapshots.empty()) return "";
  std::vector<std::pair<std::string, const Json*>> points;
  for (const auto& s : f.snapshots) points.push_back({s["name"], board_entry(f.final_board, s["name"])});
  double lo = 1e9, hi = -1e9;
  for (const auto& e : f.final_board) {
    lo = std::min(lo, num(e, "ci_low"));
    hi = std::max(hi, num(e, "ci_high"));
    lo = std::min(lo, num(e, "elo"));
    hi = std::max(hi, num(e, "elo"));
  }
  if (!(hi > lo)) { lo -= 50; hi += 50; }
  const double W = 760, H = 340, L = 60, R = 150, T = 20, B = 60;
  auto y = [&](double v) { return T + (H - T - B) * (hi - v) / (hi - lo); };
  auto x = [&](size_t i) { return L + (W - L - R) * (points.size() == 1 ? 0.5 : double(i) / double(points.size() - 1)); };
  std::ostringstream s;
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' font-family='sans-serif' font-size='11'>";
  for (int k = 0; k <= 4; ++k) {
    const double v = lo + (hi - lo) * k / 4;
    s << "<line x1='" << L << "' x2='" << W - R << "' y1='" << y(v) << "' y2='" << y(v) << "' stroke='#eee'/>"
      << "<text x='" << L - 6 << "' y='" << y(v) + 4 << "' text-anchor='end' fill='#666'>" << fmt(v) << "</text>";
  }
  for (const auto& c : f.competitors)
    if (const Json* e = board_entry(f.final_board, c)) {
      s << "<line x1='" << L << "' x2='" << W - R << "' y1='" << y(num(*e, "elo")) << "' y2='" << y(num(*e, "elo"))
        << "' stroke='#c0392b' stroke-dasharray='4 3'/><text x='" << W - R + 4 << "' y='" << y(num(*e, "elo")) + 4
        << "' fill='#c0392b'>" << esc(c) << "</text>";
    }
  std::string path;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!points[i].second) continue;
    const Json& e = *points[i].second;
    path += (path.empty() ? "M" : "L") + fmt(x(i), 1) + "," + fmt(y(num(e, "elo")), 1);
    s << "<line x1='" << x(i) << "' x2='" << x(i) << "' y1='" << y(num(e, "ci_low")) << "' y2='" << y(num(e, "ci_high"))
      << "' stroke='#2c6fbb' stroke-width='2'/><circle cx='" << x(i) << "' cy='" << y(num(e, "elo"))
      << "' r='4' fill='#2c6fbb'><title>" << esc(points[i].first) << ": " << fmt(num(e, "elo")) << " ["
      << fmt(num(e, "ci_low")) << ", " << fmt(num(e, "ci_high")) << "]</title></circle>"
      << "<text x='" << x(i) << "' y='" << H - B + 16 << "' text-anchor='end' transform='rotate(-30 " << x(i) << " "
      << H - B + 16 << ")'>" << esc(points[i].first) << "</text>";
  }
  s << "<path d='" << path << "' fill='none' stroke='#2c6fbb'/></svg>";
  return s.str();
}

struct Table {
  std::vector<std::string> head;
  std::vector<std::vector<std::string>> rows;
  std::string md() const {
    std::string o = "|";
    for (const auto& h : head) o += " " + h + " |";
    o += "\n|";
    for (size_t i = 0; i < head.size(); ++i) o += i == 0 ? ":---|" : "---:|";
    o += "\n";
    for (const auto& r : rows) {
      o += "|";
      for (const auto& c : r) o += " " + c + " |";
      o += "\n";
    }
    return o;
  }
  std::string html() const {
    std::string o = "<table><tr>";
    for (const auto& h : head) o += "<th>" + esc(h) + "</th>";
    o += "</tr>";
    for (const auto& r : rows) {
      o += "<tr>";
      for (const auto& c : r) o += "<td>" + esc(c) + "</td>";
      o += "</tr>";
    }
    return o + "</table>";
  }
};

// The stages' held-out figures (the trainers' eval/ metrics on the held-out part of their
// slice): first and last value of each, and every value in order (PPO's curve over steps).
Table heldout_table(const Facts& f) {
  Table t{{"Stage", "Trainer", "Held-out figure", "Start", "End", "Over steps"}, {}};
  for (const Json* s : f.stages) {
    const Json figures = s->value("outputs", Json::object()).value("heldout", Json::object());
    for (const auto& [trainer, rows] : figures.items()) {
      std::vector<std::string> keys;
      for (const auto& row : rows)
        for (const auto& [k, v] : row.items())
          if (k != "step" && std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
      for (const auto& k : keys) {
        std::string curve, first, last;
        for (const auto& row : rows) {
          if (!row.contains(k) || !row[k].is_number()) continue;
          const std::string v = fmt(row[k].get<double>(), 3);
          if (first.empty()) first = v;
          last = v;
          curve += (curve.empty() ? "" : ", ") + std::to_string(row.value("step", 0)) + ": " + v;
        }
        const std::string name = s->value("id", "");
        // The trainer's folder names it (rm, rm_pretrain); train/ is the stage's own trainer,
        // labelled by its kind (rm_ppo's is PPO).
        const std::string kind = name.substr(name.rfind('.') + 1);
        const std::string which = trainer != "train" ? trainer : kind == "rm_ppo" ? "ppo" : kind;
        t.rows.push_back({name, which, k.substr(5), first, last, curve});
      }
    }
  }
  return t;
}

// Each stage's gate: every attempt's win rate against its input on the held-out prompts,
// and what was done.
Table gate_table(const Facts& f) {
  Table t{{"Stage", "Attempt", "Settings", "Held-out prompts", "Win rate vs its input", "95% CI", "Outcome"}, {}};
  for (const Json* s : f.stages) {
    const Json g = s->value("outputs", Json::object()).value("gate", Json::object());
    const Json checks = g.value("checks", Json::array());
    for (size_t k = 0; k < checks.size(); ++k) {
      const Json c = checks[k].value("check", Json::object());
      t.rows.push_back({s->value("id", ""), std::to_string(checks[k].value("attempt", 0)),
                        checks[k].value("settings", std::string()), fmt(num(c, "prompts")),
                        fmt(100 * num(c, "win_rate"), 1) + "%",
                        fmt(100 * num(c, "ci_low"), 1) + " – " + fmt(100 * num(c, "ci_high"), 1) + "%",
                        k + 1 == checks.size() ? g.value("verdict", std::string()) : "failed, retried"});
    }
  }
  return t;
}

}  // namespace

std::string write_report(const std::string& out, const Json& manifest, const FlywheelRecipe& r) {
  const Facts f = gather(manifest, r);

  // Elo per evaluation.
  Table elo{{"Model"}, {}};
  std::vector<std::string> models;
  for (const auto& e : f.final_board) models.push_back(e["model"]);
  for (const Json* ev : f.evals) elo.head.push_back("Elo after " + ev->at("id").get<std::string>());
  elo.head.push_back("95% CI (last)");
  elo.head.push_back("Battles");
  const std::string pinned = f.evals.empty() ? "" : f.evals.back()->at("outputs").value("anchor", Json::object()).value("model", "");
  for (const auto& m : models) {
    std::string label;
    for (const auto& c : r.competitors)
      if (c.name == m) label = c.kind == "simulated" ? " (simulated competitor)" : " (competitor)";
    if (m == pinned) label += " (pinned)";
    std::vector<std::string> row = {m + label};
    for (const Json* ev : f.evals) {
      const Json* e = board_entry(ev->at("outputs").at("leaderboard"), m);
      row.push_back(e ? fmt(num(*e, "elo")) : "");
    }
    const Json* e = board_entry(f.final_board, m);
    row.push_back(fmt(num(*e, "ci_low")) + " – " + fmt(num(*e, "ci_high")));
    row.push_back(fmt(num(*e, "battles")));
    elo.rows.push_back(row);
  }

  // The scale: one model pinned in every fit, so the columns above compare.
  std::string scale;
  if (!f.evals.empty())
    if (const Json a = f.evals.back()->at("outputs").value("anchor", Json()); a.is_object() && !a.value("model", "").empty())
      scale = a["model"].get<std::string>() + " is pinned at " + fmt(a.value("elo", 0.0)) +
              " in every evaluation (eval.anchor), so the columns compare.";

  // Which snapshot went on after each iteration, and on what it was chosen.
  Table choice{{"Evaluation", "Candidate", "Validation Elo (95% CI)", "Test Elo (95% CI)", "Chosen"}, {}};
  for (const Json* ev : f.evals) {
    const Json& o = ev->at("outputs");
    if (!o.contains("candidates")) continue;
    const Json val = o.value("validation", Json::object()).value("leaderboard", Json::array());
    auto cell = [](const Json* e) {
      return e ? fmt(num(*e, "elo")) + " (" + fmt(num(*e, "ci_low")) + " – " + fmt(num(*e, "ci_high")) + ")" : std::string();
    };
    for (const auto& c : o.at("candidates")) {
      const std::string name = c;
      const bool chosen = o.at("best").value("name", "") == name;
      choice.rows.push_back({ev->at("id").get<std::string>(), name, cell(board_entry(val, name)),
                             cell(board_entry(o.at("leaderboard"), name)),
                             chosen ? "yes (on the " + std::string(o.value("chosen_by", "") == "validation" ? "validation split" : "test set") + ")" : ""});
    }
  }

  // Win rates of each snapshot against each competitor (final evaluation).
  Table wins{{"Snapshot"}, {}};
  for (const auto& c : f.competitors) wins.head.push_back("vs " + c);
  if (!f.evals.empty()) {
    const Json rates = f.evals.back()->at("outputs").value("win_rates", Json::object());
    for (const auto& snap : f.snapshots) {
      const std::string name = snap["name"];
      std::vector<std::string> row = {name};
      for (const auto& c : f.competitors)
        row.push_back(rates.contains(name) && rates[name].contains(c) ? fmt(100 * rates[name][c].get<double>(), 1) + "%" : "");
      wins.rows.push_back(row);
    }
  }

  // Data per stage and per battle model; the judge's position inconsistency.
  Table data{{"Stage", "Status", "Training examples", "Selection", "Battles", "Position-inconsistent"}, {}};
  Table by_model{{"Stage", "Model", "Chosen", "Rejected"}, {}};
  Json stage_summary = Json::array();
  for (const Json* s : f.stages) {
    const Json out = s->value("outputs", Json::object());
    const Json d = out.value("data", Json::object());
    std::string inconsistency;
    int64_t battles = 0;
    const Json pi = out.value("battles", Json::object()).value("position_inconsistency", Json::object());
    for (const auto& [judge, c] : pi.items()) {
      inconsistency += fmt(100 * c.value("rate", 0.0), 1) + "% (" + judge + ")";
      battles += c.value("battles", 0);
    }
    const std::string status = s->value("status", "") +
                               (out.contains("skipped") ? " (skipped: " + out["skipped"].get<std::string>() + ")" : "") +
                               (out.contains("dropped") ? " (dropped by the gate)" : "");
    // SFT stages: how the data was chosen (arena/sft_selection.h), with the judge's count
    // every arm matches.
    std::string selection;
    if (d.contains("selection")) {
      const Json& sel = d["selection"];
      selection = sel.value("method", "") + " (judge count " + std::to_string(sel.value("judge_count", int64_t{0})) +
                  (sel.contains("clusters") ? ", " + std::to_string(sel["clusters"].get<int64_t>()) + " clusters" : "") + ")";
    }
    data.rows.push_back({s->value("id", ""), status, d.contains("examples") ? std::to_string(d["examples"].get<int64_t>()) : fmt(num(out, "examples")),
                         selection, std::to_string(battles), inconsistency});
    for (const char* kind : {"sft", "dpo", "rm"})
      if (d.contains(kind)) {
        const Json counts = d[kind].value("by_model", Json::object());
        for (const auto& [model, c] : counts.items())
          by_model.rows.push_back({s->value("id", "") + " (" + kind + ")", model, std::to_string(c.value("chosen", 0)),
                                   std::to_string(c.value("rejected", 0))});
      }
    stage_summary.push_back({{"id", s->value("id", "")}, {"status", s->value("status", "")}, {"outputs", out}});
  }
  Table eval_consistency{{"Evaluation", "Battles (both games parsed)", "Position-inconsistent"}, {}};
  for (const Json* ev : f.evals) {
    // (a named copy: a temporary in a range-for's init would not live through the loop)
    const Json pi = ev->at("outputs").value("battles", Json::object()).value("position_inconsistency", Json::object());
    for (const auto& [judge, c] : pi.items())
      eval_consistency.rows.push_back({ev->at("id").get<std::string>() + " (" + judge + ")", std::to_string(c.value("battles", 0)),
                                       fmt(100 * c.value("rate", 0.0), 1) + "%"});
  }

  const Table heldout = heldout_table(f);
  const Table gate = gate_table(f);

  // Artefacts.
  std::vector<std::pair<std::string, std::string>> links = {{"resolved recipe", "config.yaml"}, {"manifest", "manifest.json"}};
  for (const Json* ev : f.evals)
    links.push_back({ev->at("id").get<std::string>() + " leaderboard",
                     rel(out, ev->at("outputs").value("leaderboard_dir", "") + "/leaderboard.html")});
  links.push_back({"offline battles", "eval/battle/battles.jsonl"});
  if (fs::exists(out + "/eval/validation/battles.jsonl")) links.push_back({"validation battles", "eval/validation/battles.jsonl"});
  if (fs::exists(out + "/data/validation.jsonl")) links.push_back({"validation prompts", "data/validation.jsonl"});
  for (const Json* s : f.stages) {
    const std::string id = s->value("id", "");
    const std::string dir = stage_folder(id);
    for (const char* sub : {"battle/battles.jsonl", "data", "train/final", "rm/final"})
      if (fs::exists(out + "/" + dir + "/" + sub)) links.push_back({id + ": " + sub, dir + "/" + sub});
  }

  // summary.json
  Json summary = {{"format", "flywheel.summary/1"}, {"competitors", f.competitors}, {"final_leaderboard", f.final_board},
                  {"snapshots", f.snapshots}, {"stages", stage_summary}};
  // The run's SFT data selection (the Table-3 ablation's arm), as the recipe gives it.
  const arena::SftSelection selection = r.sft_selection;
  summary["sft_selection"] = {{"method", arena::sft_selection_name(selection)},
                              {"description", arena::sft_selection_description(selection)}};
  const std::string selection_line = "SFT data selection: " + arena::sft_selection_description(selection) + ".";
  Json evals = Json::array();
  for (const Json* ev : f.evals) {
    const Json& o = ev->at("outputs");
    Json e = {{"id", ev->at("id")}, {"leaderboard", o.at("leaderboard")}, {"best", o.at("best")}};
    for (const char* k : {"anchor", "chosen_by", "candidates"})
      if (o.contains(k)) e[k] = o.at(k);
    if (o.contains("validation")) e["validation_leaderboard"] = o.at("validation").value("leaderboard", Json::array());
    evals.push_back(e);
  }
  summary["evaluations"] = evals;
  if (!f.evals.empty()) summary["anchor"] = f.evals.back()->at("outputs").value("anchor", Json());
  // The headline is the snapshot the flywheel went on with (chosen on the validation split
  // when there is one), at its test Elo; not the best test Elo of all snapshots, which
  // would be the maximum of several noisy draws and so biased upwards.
  if (!f.snapshots.empty() && !f.evals.empty()) {
    const Json& last = f.evals.back()->at("outputs");
    const std::string to = last.at("best").value("name", "");
    const Json* first = board_entry(f.final_board, f.snapshots.front()["name"]);
    const Json* chosen = board_entry(f.final_board, to);
    if (first && chosen)
      summary["elo_gain"] = {{"from", f.snapshots.front()["name"]}, {"to", to}, {"points", num(*chosen, "elo") - num(*first, "elo")},
                             {"chosen_by", last.value("chosen_by", "")}, {"after", f.evals.back()->value("id", "")}};
  }
  links.push_back({"summary", "summary.json"});
  write_file_atomic(out + "/summary.json", summary.dump(2) + "\n");

  // report.md
  std::string md = "# Flywheel report: " + out + "\n\n";
  // Where the final snapshot was chosen, in words.
  std::string chosen_on;
  if (summary.contains("elo_gain")) {
    const std::string by = summary["elo_gain"]["chosen_by"];
    chosen_on = by == "validation" ? " (chosen on the validation split, so the choice does not inflate its test Elo)"
                : by == "test"     ? " (chosen on the test set itself, eval.validation_prompts: 0: an optimistic figure)"
                                   : "";
  }
  if (summary.contains("elo_gain"))
    md += "The target after " + summary["elo_gain"]["after"].get<std::string>() + ": **" +
          summary["elo_gain"]["to"].get<std::string>() + "**" + chosen_on + ", " +
          fmt(summary["elo_gain"]["points"].get<double>(), 0) + " Elo above " + summary["elo_gain"]["from"].get<std::string>() +
          " on the offline test set.\n\n";
  md += selection_line + "\n\n";
  md += "## Elo on the offline test set\n\n" + (scale.empty() ? "" : scale + "\n\n") + elo.md() +
        "\n## The snapshot that goes on, per iteration\n\n" + choice.md() +
        "\n## Win rates against the competitors (last evaluation)\n\n" + wins.md() + "\n## Stages: data and battles\n\n" + data.md() +
        "\n## Held-out figures of the stages (their slice's held-out prompts)\n\n" + heldout.md() +
        "\n## Stage gate: each stage's output against its input (held-out prompts, the run's judge)\n\n" + gate.md() +
        "\n## Chosen and rejected responses per battle model\n\n" +
        by_model.md() + "\n## Judge position inconsistency on the test set\n\n" + eval_consistency.md() + "\n## Artefacts\n\n";
  for (const auto& [what, path] : links) md += "- [" + what + "](" + path + ")\n";
  write_file_atomic(out + "/report.md", md);

  // report.html
  std::string html =
      "<!doctype html><html><head><meta charset='utf-8'><title>flywheel report</title><style>"
      "body{font-family:sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse;margin:8px 0 20px}"
      "td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
      "th{background:#f4f4f4}</style></head><body><h1>Flywheel report</h1><p>" + esc(out) + "</p>";
  if (summary.contains("elo_gain"))
    html += "<p>The target after " + esc(summary["elo_gain"]["after"]) + ": <b>" + esc(summary["elo_gain"]["to"]) + "</b>" +
            esc(chosen_on) + ", " +
            fmt(summary["elo_gain"]["points"].get<double>(), 0) + " Elo above " + esc(summary["elo_gain"]["from"]) +
            " on the offline test set.</p>";
  html += "<p>" + esc(selection_line) + "</p>";
  html += "<h2>Elo of the target snapshots (95% CI) and the competitors</h2>" + (scale.empty() ? "" : "<p>" + esc(scale) + "</p>") +
          elo_chart(f) + elo.html() + "<h2>The snapshot that goes on, per iteration</h2>" + choice.html() +
          "<h2>Win rates against the competitors (last evaluation)</h2>" + wins.html() +
          "<h2>Stages: data and battles</h2>" + data.html() +
          "<h2>Held-out figures of the stages (their slice's held-out prompts)</h2>" + heldout.html() +
          "<h2>Stage gate: each stage's output against its input (held-out prompts, the run's judge)</h2>" + gate.html() + "<h2>Chosen and rejected responses per battle model</h2>" +
          by_model.html() + "<h2>Judge position inconsistency on the test set</h2>" + eval_consistency.html() +
          "<h2>Artefacts</h2><ul>";
  for (const auto& [what, path] : links) html += "<li><a href='" + esc(path) + "'>" + esc(what) + "</a></li>";
  html += "</ul></body></html>\n";
  write_file_atomic(out + "/report.html", html);
  return out + "/report.html";
}

}  // namespace fw::flywheel
