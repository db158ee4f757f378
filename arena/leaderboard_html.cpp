// leaderboard.html: one self-contained page (inline CSS and SVG, no scripts, no external
// assets) — the ranked table with a CI bar per model on a shared Elo axis, the pairwise
// win-rate matrix as a heat map (red = the row model loses, blue = it wins), and one table
// per category.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "arena/leaderboard.h"

namespace fw::arena {
namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string fmt(double v, int digits = 1) {
  if (!std::isfinite(v)) return "&ndash;";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// The SVG CI bar: [lo, hi] as a line with end ticks, the rating as a dot, on [axis_lo, axis_hi].
std::string ci_bar(const LeaderboardEntry& e, double axis_lo, double axis_hi) {
  const double w = 240, h = 16;
  auto x = [&](double v) { return 4 + (w - 8) * (v - axis_lo) / std::max(1e-9, axis_hi - axis_lo); };
  std::string s = "<svg width=\"240\" height=\"16\" viewBox=\"0 0 240 16\" role=\"img\" aria-label=\"95% CI\">";
  s += "<line x1=\"0\" y1=\"8\" x2=\"" + fmt(w, 0) + "\" y2=\"8\" stroke=\"#eee\"/>";
  if (std::isfinite(e.ci_low) && std::isfinite(e.ci_high)) {
    const std::string x1 = fmt(x(e.ci_low)), x2 = fmt(x(e.ci_high));
    s += "<line x1=\"" + x1 + "\" y1=\"8\" x2=\"" + x2 + "\" y2=\"8\" stroke=\"#4a6fa5\" stroke-width=\"3\"/>";
    s += "<line x1=\"" + x1 + "\" y1=\"3\" x2=\"" + x1 + "\" y2=\"13\" stroke=\"#4a6fa5\"/>";
    s += "<line x1=\"" + x2 + "\" y1=\"3\" x2=\"" + x2 + "\" y2=\"13\" stroke=\"#4a6fa5\"/>";
  }
  if (std::isfinite(e.elo))
    s += "<circle cx=\"" + fmt(x(e.elo)) + "\" cy=\"8\" r=\"" + fmt(h / 4) + "\" fill=\"#c0392b\"/>";
  return s + "</svg>";
}

// 0 -> red, 0.5 -> white, 1 -> blue.
std::string heat(double r) {
  if (!std::isfinite(r)) return "#f4f4f4";
  r = std::clamp(r, 0.0, 1.0);
  int cr, cg, cb;
  if (r < 0.5) {
    const double t = r / 0.5;
    cr = 215 + static_cast<int>((255 - 215) * t);
    cg = 48 + static_cast<int>((255 - 48) * t);
    cb = 39 + static_cast<int>((255 - 39) * t);
  } else {
    const double t = (r - 0.5) / 0.5;
    cr = 255 - static_cast<int>((255 - 49) * t);
    cg = 255 - static_cast<int>((255 - 104) * t);
    cb = 255 - static_cast<int>((255 - 155) * t);
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", cr, cg, cb);
  return buf;
}

void ranked_table(std::string& out, const Leaderboard& lb) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& e : lb.entries)
    for (double v : {e.elo, e.ci_low, e.ci_high})
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  if (!(hi > lo)) {
    lo -= 1;
    hi += 1;
  }
  const double pad = 0.03 * (hi - lo);
  lo -= pad;
  hi += pad;
  out += "<table class=\"lb\"><thead><tr><th>Rank</th><th>Model</th><th>Elo</th><th>95% CI</th><th>CI (" +
         fmt(lo, 0) + " &ndash; " + fmt(hi, 0) + ")</th><th>Battles</th><th>Win rate</th><th>Online Elo</th></tr></thead><tbody>\n";
  int rank = 0;
  for (const auto& e : lb.entries) {
    std::string ci = "&ndash;";
    if (std::isfinite(e.ci_low) && std::isfinite(e.ci_high)) ci = fmt(e.ci_low) + " &ndash; " + fmt(e.ci_high);
    out += "<tr><td>" + std::to_string(++rank) + "</td><td class=\"m\">" + esc(e.model) + "</td><td>" + fmt(e.elo) +
           "</td><td>" + ci + "</td><td>" + ci_bar(e, lo, hi) + "</td><td>" + std::to_string(e.battles) + "</td><td>" +
           (std::isfinite(e.win_rate) ? fmt(100 * e.win_rate) + "%" : "&ndash;") + "</td><td>" + fmt(e.online_elo) +
           "</td></tr>\n";
  }
  out += "</tbody></table>\n";
}

void win_matrix(std::string& out, const Leaderboard& lb) {
  const size_t n = lb.pair_models.size();
  if (n == 0 || lb.pair_win_rate.size() != n * n) return;
  out += "<h2>Pairwise win rate</h2>\n<p>Row model's win rate against the column model (ties count half); "
         "hover for the battle count.</p>\n<table class=\"wr\"><thead><tr><th></th>";
  for (const auto& m : lb.pair_models) out += "<th class=\"v\"><span>" + esc(m) + "</span></th>";
  out += "</tr></thead><tbody>\n";
  for (size_t i = 0; i < n; ++i) {
    out += "<tr><th>" + esc(lb.pair_models[i]) + "</th>";
    for (size_t j = 0; j < n; ++j) {
      const double r = lb.pair_win_rate[i * n + j];
      const int64_t b = lb.pair_battles.size() == n * n ? lb.pair_battles[i * n + j] : 0;
      out += "<td style=\"background:" + heat(r) + "\" title=\"" + esc(lb.pair_models[i]) + " vs " +
             esc(lb.pair_models[j]) + ": " + std::to_string(b) + " battles\">" +
             (std::isfinite(r) ? fmt(100 * r, 0) : std::string()) + "</td>";
    }
    out += "</tr>\n";
  }
  out += "</tbody></table>\n";
}

}  // namespace

std::string leaderboard_html(const Leaderboard& lb) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>flywheel leaderboard</title>\n"
      "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
      "table{border-collapse:collapse;margin:1em 0}th,td{padding:3px 8px;border-bottom:1px solid #ddd;"
      "text-align:right;font-variant-numeric:tabular-nums}td.m,th.m{text-align:left}"
      "table.wr td{width:2.6em;text-align:center;border:1px solid #fff;font-size:85%}"
      "table.wr th.v{height:9em;vertical-align:bottom;padding:0}table.wr th.v span{writing-mode:vertical-rl;"
      "transform:rotate(180deg);white-space:nowrap}.meta{color:#666}</style></head><body>\n";
  out += "<h1>Leaderboard</h1>\n";
  const auto& md = lb.metadata;
  out += "<p class=\"meta\">" + std::to_string(md.value("battles", int64_t{0})) + " battles, " +
         std::to_string(lb.entries.size()) + " models. Bradley&ndash;Terry Elo";
  if (md.value("bootstrap_rounds", 0) > 0)
    out += ", the median of " + std::to_string(md.value("bootstrap_rounds", 0)) +
           " bootstrap rounds with the 2.5&ndash;97.5% interval";
  if (md.contains("anchor") && md["anchor"].is_object())
    out += "; " + esc(md["anchor"].value("model", std::string())) + " pinned at " + fmt(md["anchor"].value("elo", 0.0));
  out += "; ties " + esc(md.value("ties", std::string("half"))) + ".</p>\n";
  ranked_table(out, lb);
  win_matrix(out, lb);
  if (!lb.categories.empty()) {
    out += "<h2>By category</h2>\n";
    for (const auto& c : lb.categories) {
      out += "<h3>" + esc(c.category) + " <span class=\"meta\">(" +
             std::to_string(c.metadata.value("battles", int64_t{0})) + " battles)</span></h3>\n";
      ranked_table(out, c);
    }
  }
  out += "</body></html>\n";
  return out;
}

}  // namespace fw::arena
