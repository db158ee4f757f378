#include "arena/consistency.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>

#include "arena/elo_bootstrap.h"

namespace fw::arena {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool has_ci(const LeaderboardEntry& e) { return std::isfinite(e.ci_low) && std::isfinite(e.ci_high); }

// +1: a above b with confidence, -1: b above a, 0: the CIs overlap.
int separation(const LeaderboardEntry& a, const LeaderboardEntry& b) {
  if (a.ci_low > b.ci_high) return 1;
  if (b.ci_low > a.ci_high) return -1;
  return 0;
}

std::string pct(std::optional<double> v) {
  if (!v || !std::isfinite(*v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * *v);
  return buf;
}

nlohmann::ordered_json num(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr); }

}  // namespace

std::vector<double> average_ranks(const std::vector<double>& values) {
  const size_t n = values.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] > values[b]; });
  std::vector<double> rank(n);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && values[order[j + 1]] == values[order[i]]) ++j;
    const double avg = 0.5 * static_cast<double>(i + j) + 1.0;  // ranks i+1 .. j+1
    for (size_t k = i; k <= j; ++k) rank[order[k]] = avg;
    i = j + 1;
  }
  return rank;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  if (n < 2 || y.size() != n) return kNaN;
  const std::vector<double> rx = average_ranks(x), ry = average_ranks(y);
  const double mean = 0.5 * static_cast<double>(n + 1);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (rx[i] - mean) * (ry[i] - mean);
    sxx += (rx[i] - mean) * (rx[i] - mean);
    syy += (ry[i] - mean) * (ry[i] - mean);
  }
  if (sxx == 0 || syy == 0) return kNaN;
  return sxy / std::sqrt(sxx * syy);
}

double kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  if (n < 2 || y.size() != n) return kNaN;
  double concordant = 0, discordant = 0, ties_x = 0, ties_y = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      const double dx = x[i] - x[j], dy = y[i] - y[j];
      if (dx == 0) ties_x += 1;  // a pair tied in both counts in both tie totals
      if (dy == 0) ties_y += 1;
      if (dx == 0 || dy == 0) continue;
      if ((dx > 0) == (dy > 0)) concordant += 1;
      else discordant += 1;
    }
  const double n0 = 0.5 * static_cast<double>(n) * static_cast<double>(n - 1);
  const double denom = std::sqrt((n0 - ties_x) * (n0 - ties_y));
  return denom > 0 ? (concordant - discordant) / denom : kNaN;
}

Consistency compare_leaderboards(const Leaderboard& ours, const Leaderboard& reference) {
  Consistency c;
  std::map<std::string, const LeaderboardEntry*> ref;
  for (const auto& e : reference.entries) ref[e.model] = &e;
  std::vector<const LeaderboardEntry*> a, b;  // matched, in our order
  std::map<std::string, bool> in_ours;
  for (const auto& e : ours.entries) {
    in_ours[e.model] = true;
    auto it = ref.find(e.model);
    if (it == ref.end()) {
      c.only_ours.push_back(e.model);
      continue;
    }
    c.common.push_back(e.model);
    a.push_back(&e);
    b.push_back(it->second);
  }
  for (const auto& e : reference.entries)
    if (!in_ours.count(e.model)) c.only_reference.push_back(e.model);

  const size_t n = a.size();
  std::vector<double> xa(n), xb(n);
  for (size_t i = 0; i < n; ++i) {
    xa[i] = a[i]->elo;
    xb[i] = b[i]->elo;
  }
  c.spearman = spearman(xa, xb);
  c.kendall = kendall_tau_b(xa, xb);
  c.pairs = static_cast<int64_t>(n * (n > 0 ? n - 1 : 0) / 2);

  // Bootstrap intervals of rho and tau-b.
  size_t rounds = n > 0 ? a[0]->bootstrap.size() : 0;
  for (size_t i = 0; i < n; ++i) rounds = std::min(rounds, a[i]->bootstrap.size());
  if (n >= 2 && rounds > 0) {
    bool paired = true;
    for (size_t i = 0; i < n; ++i) paired = paired && b[i]->bootstrap.size() >= rounds;
    std::vector<double> rhos, taus, ra(n), rb(n);
    for (size_t r = 0; r < rounds; ++r) {
      bool ok = true;
      for (size_t i = 0; i < n; ++i) {
        ra[i] = a[i]->bootstrap[r];
        rb[i] = paired ? b[i]->bootstrap[r] : b[i]->elo;
        ok = ok && std::isfinite(ra[i]) && std::isfinite(rb[i]);
      }
      if (!ok) continue;
      rhos.push_back(spearman(ra, rb));
      taus.push_back(kendall_tau_b(ra, rb));
    }
    if (!rhos.empty()) {
      auto interval = [&](const std::vector<double>& v) {
        return Interval{quantile(v, 0.5), quantile(v, 0.025), quantile(v, 0.975), static_cast<int>(v.size()), paired};
      };
      c.spearman_ci = interval(rhos);
      c.kendall_ci = interval(taus);
    }
  }

  // Agreement with confidence and separability.
  bool ours_ci = n > 0, ref_ci = n > 0;
  for (size_t i = 0; i < n; ++i) {
    ours_ci = ours_ci && has_ci(*a[i]);
    ref_ci = ref_ci && has_ci(*b[i]);
  }
  int64_t sep_ours = 0, sep_ref = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      const int so = ours_ci ? separation(*a[i], *a[j]) : 0;
      const int sr = ref_ci ? separation(*b[i], *b[j]) : 0;
      if (so != 0) ++sep_ours;
      if (sr != 0) ++sep_ref;
      if (!ours_ci || !ref_ci || sr == 0) continue;
      ++c.confident_pairs;
      if (so == sr) ++c.agree;
      else if (so == 0) ++c.undecided;
      else ++c.disagree;
    }
  if (ours_ci && c.pairs > 0) c.separability = static_cast<double>(sep_ours) / static_cast<double>(c.pairs);
  if (ref_ci && c.pairs > 0) c.reference_separability = static_cast<double>(sep_ref) / static_cast<double>(c.pairs);
  if (c.confident_pairs > 0)
    c.agreement = static_cast<double>(c.agree - c.disagree) / static_cast<double>(c.confident_pairs);
  return c;
}

nlohmann::ordered_json consistency_to_json(const Consistency& c) {
  using ojson = nlohmann::ordered_json;
  ojson j;
  j["models"] = static_cast<int64_t>(c.common.size());
  j["pairs"] = c.pairs;
  j["spearman"] = num(c.spearman);
  j["kendall_tau_b"] = num(c.kendall);
  auto interval = [](const std::optional<Interval>& i) -> ojson {
    if (!i) return nullptr;
    return {{"median", i->median}, {"low", i->low}, {"high", i->high}, {"rounds", i->rounds},
            {"paired", i->paired}};
  };
  j["spearman_bootstrap"] = interval(c.spearman_ci);
  j["kendall_tau_b_bootstrap"] = interval(c.kendall_ci);
  j["agreement_with_confidence"] = c.agreement ? ojson(*c.agreement) : ojson(nullptr);
  j["confident_pairs"] = c.confident_pairs;
  j["agree"] = c.agree;
  j["disagree"] = c.disagree;
  j["undecided"] = c.undecided;
  j["separability"] = c.separability ? ojson(*c.separability) : ojson(nullptr);
  j["reference_separability"] = c.reference_separability ? ojson(*c.reference_separability) : ojson(nullptr);
  j["common_models"] = c.common;
  j["only_ours"] = c.only_ours;
  j["only_reference"] = c.only_reference;
  return j;
}

std::string consistency_text(const Consistency& c) {
  char buf[256];
  std::string out;
  std::snprintf(buf, sizeof buf, "models in both: %zu (%lld pairs)\n", c.common.size(), static_cast<long long>(c.pairs));
  out += buf;
  auto corr = [&](const char* name, double v, const std::optional<Interval>& i) {
    std::snprintf(buf, sizeof buf, "%-26s %s", name, std::isfinite(v) ? std::to_string(v).c_str() : "n/a");
    out += buf;
    if (i) {
      std::snprintf(buf, sizeof buf, "  (bootstrap median %.4f, 95%% %.4f .. %.4f over %d rounds%s)", i->median,
                    i->low, i->high, i->rounds, i->paired ? ", paired" : ", reference fixed");
      out += buf;
    }
    out += "\n";
  };
  corr("spearman", c.spearman, c.spearman_ci);
  corr("kendall tau-b", c.kendall, c.kendall_ci);
  std::snprintf(buf, sizeof buf, "%-26s %s  (%lld confident reference pairs: %lld agree, %lld opposite, %lld undecided)\n",
                "agreement with confidence", pct(c.agreement).c_str(), static_cast<long long>(c.confident_pairs),
                static_cast<long long>(c.agree), static_cast<long long>(c.disagree),
                static_cast<long long>(c.undecided));
  out += buf;
  std::snprintf(buf, sizeof buf, "%-26s %s  (reference: %s)\n", "separability", pct(c.separability).c_str(),
                pct(c.reference_separability).c_str());
  out += buf;
  if (!c.only_ours.empty()) out += "only in ours (ignored): " + std::to_string(c.only_ours.size()) + "\n";
  if (!c.only_reference.empty()) out += "only in the reference (ignored): " + std::to_string(c.only_reference.size()) + "\n";
  return out;
}

}  // namespace fw::arena
