#include "arena/elo_battles.h"

#include <algorithm>
#include <cstring>

#include "core/rng.h"

namespace fw::arena {
namespace {

// The sorted unique names of `lists`, and for each list the map from its ids to theirs.
std::vector<std::string> merge_names(const std::vector<const std::vector<std::string>*>& lists,
                                     std::vector<std::vector<uint32_t>>& remap) {
  std::vector<std::string> all;
  for (const auto* names : lists) all.insert(all.end(), names->begin(), names->end());
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  remap.assign(lists.size(), {});
  for (size_t k = 0; k < lists.size(); ++k)
    for (const auto& name : *lists[k])
      remap[k].push_back(static_cast<uint32_t>(std::lower_bound(all.begin(), all.end(), name) - all.begin()));
  return all;
}

// 8 bytes at a time, each word multiplied into the state (an interning table's hash, not
// a cryptographic one).
uint64_t name_hash(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  if (i < s.size()) {
    uint64_t w = 0;
    std::memcpy(&w, s.data() + i, s.size() - i);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  return mix64(h);
}

}  // namespace

int sorted_index(const std::vector<std::string>& names, std::string_view name) {
  auto it = std::lower_bound(names.begin(), names.end(), name);
  return it != names.end() && *it == name ? static_cast<int>(it - names.begin()) : -1;
}

int EloBattles::index_of(std::string_view model) const { return sorted_index(models, model); }

uint32_t EloBattlesBuilder::Names::id(std::string_view name) {
  const uint64_t h = name_hash(name);
  if (!slots.empty()) {
    const size_t mask = slots.size() - 1;
    for (size_t i = h & mask; slots[i] >= 0; i = (i + 1) & mask) {
      const auto s = static_cast<size_t>(slots[i]);
      if (hashes[s] == h && names[s] == name) return static_cast<uint32_t>(s);
    }
  }
  const auto next = static_cast<uint32_t>(names.size());
  names.emplace_back(name);
  hashes.push_back(h);
  if (names.size() * 2 > slots.size()) {  // at most half full: grow, and place every id again
    slots.assign(std::max<size_t>(64, slots.size() * 2), -1);
    for (uint32_t id = 0; id < names.size(); ++id) place(id);
  } else {
    place(next);
  }
  return next;
}

void EloBattlesBuilder::Names::place(uint32_t id) {
  const size_t mask = slots.size() - 1;
  size_t i = hashes[id] & mask;
  while (slots[i] >= 0) i = (i + 1) & mask;
  slots[i] = static_cast<int32_t>(id);
}

void EloBattlesBuilder::reserve(size_t battles) {
  out_.model_a.reserve(battles);
  out_.model_b.reserve(battles);
  out_.winner.reserve(battles);
  out_.category.reserve(battles);
}

void EloBattlesBuilder::add(std::string_view model_a, std::string_view model_b, Winner winner,
                            std::string_view category) {
  out_.model_a.push_back(models_.id(model_a));
  out_.model_b.push_back(models_.id(model_b));
  out_.winner.push_back(winner);
  out_.category.push_back(category.empty() ? -1 : static_cast<int32_t>(categories_.id(category)));
}

EloBattles EloBattlesBuilder::finish() && {
  std::vector<std::vector<uint32_t>> remap;
  out_.models = merge_names({&models_.names}, remap);
  for (uint32_t& m : out_.model_a) m = remap[0][m];
  for (uint32_t& m : out_.model_b) m = remap[0][m];
  out_.categories = merge_names({&categories_.names}, remap);
  for (int32_t& c : out_.category)
    if (c >= 0) c = static_cast<int32_t>(remap[0][static_cast<size_t>(c)]);
  return std::move(out_);
}

EloBattles to_elo_battles(const std::vector<Battle>& battles) {
  EloBattlesBuilder builder;
  builder.reserve(battles.size());
  for (const Battle& b : battles) builder.add(b.model_a, b.model_b, b.winner, b.category);
  return std::move(builder).finish();
}

EloBattles concat_elo_battles(std::vector<EloBattles>&& parts) {
  if (parts.size() == 1) return std::move(parts[0]);
  std::vector<const std::vector<std::string>*> model_lists, category_lists;
  size_t total = 0;
  for (const EloBattles& p : parts) {
    model_lists.push_back(&p.models);
    category_lists.push_back(&p.categories);
    total += p.size();
  }
  EloBattles out;
  std::vector<std::vector<uint32_t>> model_remap, category_remap;
  out.models = merge_names(model_lists, model_remap);
  out.categories = merge_names(category_lists, category_remap);
  out.model_a.reserve(total);
  out.model_b.reserve(total);
  out.winner.reserve(total);
  out.category.reserve(total);
  for (size_t k = 0; k < parts.size(); ++k) {
    EloBattles& p = parts[k];
    for (size_t i = 0; i < p.size(); ++i) {
      out.model_a.push_back(model_remap[k][p.model_a[i]]);
      out.model_b.push_back(model_remap[k][p.model_b[i]]);
      out.category.push_back(p.category[i] < 0 ? -1 : static_cast<int32_t>(category_remap[k][static_cast<size_t>(p.category[i])]));
    }
    out.winner.insert(out.winner.end(), p.winner.begin(), p.winner.end());
    p = EloBattles{};  // peak memory: one part at a time on top of the result
  }
  return out;
}

std::vector<std::vector<size_t>> battles_by_category(const EloBattles& b) {
  std::vector<std::vector<size_t>> rows(b.categories.size());
  for (size_t i = 0; i < b.size(); ++i)
    if (b.category[i] >= 0) rows[static_cast<size_t>(b.category[i])].push_back(i);
  return rows;
}

EloBattles category_battles(const EloBattles& b, int32_t category, const std::vector<size_t>& rows) {
  EloBattles out;
  out.categories = {b.categories.at(static_cast<size_t>(category))};
  // The models that appear, renumbered in their (sorted) order; a map, not a vector of
  // all models, so that thousands of categories do not each pay for every model.
  std::vector<uint32_t> seen;
  for (size_t i : rows) {
    seen.push_back(b.model_a[i]);
    seen.push_back(b.model_b[i]);
  }
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  for (uint32_t m : seen) out.models.push_back(b.models[m]);
  auto id = [&](uint32_t m) { return static_cast<uint32_t>(std::lower_bound(seen.begin(), seen.end(), m) - seen.begin()); };
  for (size_t i : rows) {
    out.model_a.push_back(id(b.model_a[i]));
    out.model_b.push_back(id(b.model_b[i]));
    out.winner.push_back(b.winner[i]);
    out.category.push_back(0);
  }
  return out;
}

}  // namespace fw::arena
