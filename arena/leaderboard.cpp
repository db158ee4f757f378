#include "arena/leaderboard.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <numeric>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"

namespace fw::arena {
namespace {

using ojson = nlohmann::ordered_json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

ojson num(double v) { return std::isfinite(v) ? ojson(v) : ojson(nullptr); }

double read_num(const nlohmann::json& e, const char* key, const std::string& file, const std::string& where,
                bool required) {
  auto it = e.find(key);
  if (it == e.end() || it->is_null()) {
    if (required) throw_invalid(std::string("missing \"") + key + "\"", {.file = file, .key = where + "." + key});
    return kNaN;
  }
  if (!it->is_number()) throw_invalid(std::string("\"") + key + "\" must be a number", {.file = file, .key = where + "." + key});
  return it->get<double>();
}

std::string fixed(double v, int digits = 1) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

void markdown_table(std::string& out, const Leaderboard& lb) {
  out += "| Rank | Model | Elo | 95% CI | Battles | Win rate | Online Elo |\n";
  out += "|---:|:---|---:|:---:|---:|---:|---:|\n";
  int rank = 0;
  for (const auto& e : lb.entries) {
    ++rank;
    std::string ci = "-";
    if (std::isfinite(e.ci_low) && std::isfinite(e.ci_high))
      ci = "+" + fixed(e.ci_high - e.elo) + " / -" + fixed(e.elo - e.ci_low);
    out += "| " + std::to_string(rank) + " | " + e.model + " | " + fixed(e.elo) + " | " + ci + " | " +
           std::to_string(e.battles) + " | " + (std::isfinite(e.win_rate) ? fixed(100 * e.win_rate) + "%" : "-") +
           " | " + fixed(e.online_elo) + " |\n";
  }
}

}  // namespace

std::string category_slug(const std::string& category) {
  std::string s;
  for (char c : category)
    s += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
  if (s.empty() || s == "." || s == "..") s = "_" + s;
  return s;
}

void sort_leaderboard(Leaderboard& lb) {
  std::stable_sort(lb.entries.begin(), lb.entries.end(), [](const LeaderboardEntry& a, const LeaderboardEntry& b) {
    const double ea = std::isnan(a.elo) ? -INFINITY : a.elo, eb = std::isnan(b.elo) ? -INFINITY : b.elo;
    return ea != eb ? ea > eb : a.model < b.model;
  });
  if (lb.pair_models.empty()) return;
  const size_t n = lb.pair_models.size();
  std::vector<size_t> order;  // new position k holds old index order[k]
  for (const auto& e : lb.entries) {
    auto it = std::find(lb.pair_models.begin(), lb.pair_models.end(), e.model);
    if (it != lb.pair_models.end()) order.push_back(static_cast<size_t>(it - lb.pair_models.begin()));
  }
  if (order.size() != n) return;  // the matrices cover other models: leave them as they are
  std::vector<std::string> models(n);
  std::vector<int64_t> battles(n * n);
  std::vector<double> rate(n * n);
  for (size_t i = 0; i < n; ++i) {
    models[i] = lb.pair_models[order[i]];
    for (size_t j = 0; j < n; ++j) {
      if (!lb.pair_battles.empty()) battles[i * n + j] = lb.pair_battles[order[i] * n + order[j]];
      if (!lb.pair_win_rate.empty()) rate[i * n + j] = lb.pair_win_rate[order[i] * n + order[j]];
    }
  }
  lb.pair_models = std::move(models);
  if (!lb.pair_battles.empty()) lb.pair_battles = std::move(battles);
  if (!lb.pair_win_rate.empty()) lb.pair_win_rate = std::move(rate);
}

nlohmann::ordered_json leaderboard_to_json(const Leaderboard& lb, bool with_bootstrap) {
  ojson j;
  j["format"] = "flywheel.leaderboard/1";
  j["metadata"] = lb.metadata;
  ojson models = ojson::array();
  int rank = 0;
  for (const auto& e : lb.entries) {
    ojson m;
    m["rank"] = ++rank;
    m["model"] = e.model;
    m["elo"] = num(e.elo);
    m["ci_low"] = num(e.ci_low);
    m["ci_high"] = num(e.ci_high);
    m["battles"] = e.battles;
    m["win_rate"] = num(e.win_rate);
    m["online_elo"] = num(e.online_elo);
    m["mle_elo"] = num(e.mle_elo);
    if (with_bootstrap && !e.bootstrap.empty()) {
      ojson b = ojson::array();
      for (double v : e.bootstrap) b.push_back(num(v));
      m["bootstrap"] = std::move(b);
    }
    models.push_back(std::move(m));
  }
  j["models"] = std::move(models);
  if (!lb.pair_models.empty()) {
    const size_t n = lb.pair_models.size();
    ojson battles = ojson::array(), rate = ojson::array();
    for (size_t i = 0; i < n; ++i) {
      ojson br = ojson::array(), rr = ojson::array();
      for (size_t j2 = 0; j2 < n; ++j2) {
        br.push_back(lb.pair_battles.empty() ? 0 : lb.pair_battles[i * n + j2]);
        rr.push_back(lb.pair_win_rate.empty() ? ojson(nullptr) : num(lb.pair_win_rate[i * n + j2]));
      }
      battles.push_back(std::move(br));
      rate.push_back(std::move(rr));
    }
    j["pairwise"] = {{"models", lb.pair_models}, {"battles", std::move(battles)}, {"win_rate", std::move(rate)}};
  }
  if (!lb.categories.empty()) {
    ojson cats = ojson::array();
    for (const auto& c : lb.categories) {
      ojson cj = leaderboard_to_json(c, false);
      ojson slim;
      slim["category"] = c.category;
      slim["battles"] = c.metadata.value("battles", int64_t{0});
      slim["models"] = cj["models"];
      cats.push_back(std::move(slim));
    }
    j["categories"] = std::move(cats);
  }
  return j;
}

Leaderboard leaderboard_from_json(const nlohmann::json& j, const std::string& file) {
  Leaderboard lb;
  const nlohmann::json* list = &j;
  if (j.is_object()) {
    if (j.contains("models")) list = &j["models"];
    else if (j.contains("leaderboard")) list = &j["leaderboard"];
    else throw_invalid("a leaderboard object needs a \"models\" array", {.file = file, .key = "models"});
    if (auto it = j.find("metadata"); it != j.end() && it->is_object()) lb.metadata = *it;
    if (auto it = j.find("metadata"); it != j.end() && it->is_object() && it->contains("category") &&
                                      (*it)["category"].is_string())
      lb.category = (*it)["category"].get<std::string>();
  }
  if (!list->is_array()) throw_invalid("leaderboard entries must be a JSON array", {.file = file, .key = "models"});
  for (size_t i = 0; i < list->size(); ++i) {
    const nlohmann::json& e = (*list)[i];
    const std::string where = "models[" + std::to_string(i) + "]";
    if (!e.is_object()) throw_invalid("a leaderboard entry must be an object", {.file = file, .key = where});
    LeaderboardEntry x;
    auto m = e.find("model");
    if (m == e.end() || !m->is_string() || m->get<std::string>().empty())
      throw_invalid("missing \"model\" (a non-empty string)", {.file = file, .key = where + ".model"});
    x.model = m->get<std::string>();
    for (const auto& other : lb.entries)
      if (other.model == x.model) throw_invalid("model \"" + x.model + "\" listed twice", {.file = file, .key = where + ".model"});
    x.elo = read_num(e, "elo", file, where, true);
    x.ci_low = read_num(e, "ci_low", file, where, false);
    x.ci_high = read_num(e, "ci_high", file, where, false);
    x.mle_elo = read_num(e, "mle_elo", file, where, false);
    x.online_elo = read_num(e, "online_elo", file, where, false);
    x.win_rate = read_num(e, "win_rate", file, where, false);
    const double battles = read_num(e, "battles", file, where, false);
    x.battles = std::isfinite(battles) ? static_cast<int64_t>(battles) : 0;
    if (auto b = e.find("bootstrap"); b != e.end() && !b->is_null()) {
      if (!b->is_array()) throw_invalid("\"bootstrap\" must be an array", {.file = file, .key = where + ".bootstrap"});
      for (const auto& v : *b) {
        if (!v.is_null() && !v.is_number())
          throw_invalid("\"bootstrap\" holds numbers or null", {.file = file, .key = where + ".bootstrap"});
        x.bootstrap.push_back(v.is_null() ? kNaN : v.get<double>());
      }
    }
    lb.entries.push_back(std::move(x));
  }
  sort_leaderboard(lb);
  return lb;
}

Leaderboard read_leaderboard(const std::string& path) { return leaderboard_from_json(read_json_file(path), path); }

std::string leaderboard_markdown(const Leaderboard& lb) {
  std::string out;
  const std::string title = lb.category.empty() ? "Leaderboard" : "Leaderboard: " + lb.category;
  out += "# " + title + "\n\n";
  const auto& md = lb.metadata;
  if (md.contains("battles")) {
    out += std::to_string(md.value("battles", int64_t{0})) + " battles, " + std::to_string(lb.entries.size()) +
           " models; Bradley-Terry Elo (scale " + fixed(md.value("scale", 400.0), 0) + ", base " +
           fixed(md.value("base", 10.0), 0) + ")";
    if (md.value("bootstrap_rounds", 0) > 0)
      out += ", median of " + std::to_string(md.value("bootstrap_rounds", 0)) + " bootstrap rounds, 95% CI";
    if (md.contains("anchor") && md["anchor"].is_object())
      out += "; anchor " + md["anchor"].value("model", std::string()) + " = " + fixed(md["anchor"].value("elo", 0.0));
    out += "; ties " + md.value("ties", std::string("half")) + ".\n\n";
  }
  markdown_table(out, lb);
  for (const auto& c : lb.categories) {
    out += "\n## " + c.category + " (" + std::to_string(c.metadata.value("battles", int64_t{0})) + " battles)\n\n";
    markdown_table(out, c);
  }
  return out;
}

std::vector<std::string> write_leaderboard_files(const Leaderboard& lb, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw_runtime("cannot create output folder: " + ec.message(), {.file = dir});
  std::vector<std::string> written;
  auto put = [&](const fs::path& path, const std::string& text) {
    write_file_atomic(path.string(), text);
    written.push_back(path.string());
  };
  put(fs::path(dir) / "leaderboard.json", leaderboard_to_json(lb).dump(2) + "\n");
  put(fs::path(dir) / "leaderboard.md", leaderboard_markdown(lb));
  put(fs::path(dir) / "leaderboard.html", leaderboard_html(lb));
  for (const auto& c : lb.categories) {
    const fs::path sub = fs::path(dir) / "categories" / category_slug(c.category);
    fs::create_directories(sub, ec);
    if (ec) throw_runtime("cannot create output folder: " + ec.message(), {.file = sub.string()});
    put(sub / "leaderboard.json", leaderboard_to_json(c).dump(2) + "\n");
    put(sub / "leaderboard.md", leaderboard_markdown(c));
  }
  return written;
}

}  // namespace fw::arena
