// Battles as the Elo computations read them: one column per field they use, the models and
// categories as indices into sorted name lists. 1.6 million battles take about 16 MB this
// way instead of about 500 MB of Battle records, and a pass over them (tabulation, online
// Elo, a category's subset) reads only what it uses. The order of the battles is kept: the
// online Elo view depends on it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "arena/battle_record.h"

namespace fw::arena {

struct EloBattles {
  std::vector<std::string> models;      // sorted, unique
  std::vector<std::string> categories;  // sorted, unique, non-empty
  std::vector<uint32_t> model_a, model_b;  // per battle: indices into `models`, never equal
  std::vector<Winner> winner;
  std::vector<int32_t> category;  // per battle: index into `categories`, or -1 (none)

  size_t size() const { return model_a.size(); }
  int index_of(std::string_view model) const;  // -1 if absent
};

// Builds EloBattles one battle at a time: names get provisional ids in order of
// appearance (one hash lookup each), sorted and renumbered once by finish().
class EloBattlesBuilder {
 public:
  void reserve(size_t battles);
  // model_a != model_b, both non-empty (the caller has checked the record); an empty
  // category means none.
  void add(std::string_view model_a, std::string_view model_b, Winner winner, std::string_view category);
  EloBattles finish() &&;

 private:
  // Open addressing on a word-at-a-time hash: two lookups per battle, so this is most
  // of what reading costs once the line is scanned.
  struct Names {
    std::vector<std::string> names;  // provisional id -> name
    std::vector<uint64_t> hashes;    // provisional id -> hash
    std::vector<int32_t> slots;      // -1 = empty, else a provisional id; a power of two long
    uint32_t id(std::string_view name);
    void place(uint32_t id);
  };
  Names models_, categories_;
  EloBattles out_;
};

EloBattles to_elo_battles(const std::vector<Battle>& battles);

// The parts' battles one after the other (their name lists merged); the parts are consumed.
EloBattles concat_elo_battles(std::vector<EloBattles>&& parts);

// Per category (an index into b.categories), the indices of its battles, in order: one
// pass for all of them.
std::vector<std::vector<size_t>> battles_by_category(const EloBattles& b);
// The battles `rows` of category `category` (battles_by_category's), in order; their
// models are only those that appear in them.
EloBattles category_battles(const EloBattles& b, int32_t category, const std::vector<size_t>& rows);

// Index of `name` in sorted `names`, or -1.
int sorted_index(const std::vector<std::string>& names, std::string_view name);

}  // namespace fw::arena
