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
  for (const auto& m : models) {
    std::string label;
    for (const auto& c : r.competitors)
      if (c.name == m) label = c.kind == "simulated" ? " (simulated competitor)" : " (competitor)";
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
    const std::string status = s->value("status", "") + (out.contains("skipped") ? " (skipped: " + out["skipped"].get<std::string>() + ")" : "");
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

  // Artefacts.
  std::vector<std::pair<std::string, std::string>> links = {{"resolved recipe", "config.yaml"}, {"manifest", "manifest.json"}};
  for (const Json* ev : f.evals)
    links.push_back({ev->at("id").get<std::string>() + " leaderboard",
                     rel(out, ev->at("outputs").value("leaderboard_dir", "") + "/leaderboard.html")});
  links.push_back({"offline battles", "eval/battle/battles.jsonl"});
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
  const arena::SftSelection selection = arena::sft_selection_from_name(r.sft_selection);
  summary["sft_selection"] = {{"method", arena::sft_selection_name(selection)},
                              {"description", arena::sft_selection_description(selection)}};
  const std::string selection_line = "SFT data selection: " + arena::sft_selection_description(selection) + ".";
  Json evals = Json::array();
  for (const Json* ev : f.evals) evals.push_back({{"id", ev->at("id")}, {"leaderboard", ev->at("outputs").at("leaderboard")},
                                                  {"best", ev->at("outputs").at("best")}});
  summary["evaluations"] = evals;
  if (!f.snapshots.empty()) {
    const Json* first = board_entry(f.final_board, f.snapshots.front()["name"]);
    double best = -1e9;
    std::string best_name;
    for (const auto& s : f.snapshots)
      if (const Json* e = board_entry(f.final_board, s["name"]); e && num(*e, "elo") > best) {
        best = num(*e, "elo");
        best_name = s["name"];
      }
    if (first) summary["elo_gain"] = {{"from", f.snapshots.front()["name"]}, {"to", best_name}, {"points", best - num(*first, "elo")}};
  }
  links.push_back({"summary", "summary.json"});
  write_file_atomic(out + "/summary.json", summary.dump(2) + "\n");

  // report.md
  std::string md = "# Flywheel report: " + out + "\n\n";
  if (summary.contains("elo_gain"))
    md += "Best target snapshot **" + summary["elo_gain"]["to"].get<std::string>() + "**: " +
          fmt(summary["elo_gain"]["points"].get<double>(), 0) + " Elo above " + summary["elo_gain"]["from"].get<std::string>() + ".\n\n";
  md += selection_line + "\n\n";
  md += "## Elo on the offline test set\n\n" + elo.md() + "\n## Win rates against the competitors (last evaluation)\n\n" +
        wins.md() + "\n## Stages: data and battles\n\n" + data.md() + "\n## Chosen and rejected responses per battle model\n\n" +
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
    html += "<p>Best target snapshot <b>" + esc(summary["elo_gain"]["to"]) + "</b>: " +
            fmt(summary["elo_gain"]["points"].get<double>(), 0) + " Elo above " + esc(summary["elo_gain"]["from"]) + ".</p>";
  html += "<p>" + esc(selection_line) + "</p>";
  html += "<h2>Elo of the target snapshots (95% CI) and the competitors</h2>" + elo_chart(f) + elo.html() +
          "<h2>Win rates against the competitors (last evaluation)</h2>" + wins.html() +
          "<h2>Stages: data and battles</h2>" + data.html() + "<h2>Chosen and rejected responses per battle model</h2>" +
          by_model.html() + "<h2>Judge position inconsistency on the test set</h2>" + eval_consistency.html() +
          "<h2>Artefacts</h2><ul>";
  for (const auto& [what, path] : links) html += "<li><a href='" + esc(path) + "'>" + esc(what) + "</a></li>";
  html += "</ul></body></html>\n";
  write_file_atomic(out + "/report.html", html);
  return out + "/report.html";
}

}  // namespace fw::flywheel
