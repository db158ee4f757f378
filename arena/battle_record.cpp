#include "arena/battle_record.h"

#include <cctype>
#include <fstream>

#include "core/error.h"
#include "core/json_io.h"

namespace fw::arena {

const char* winner_name(Winner w) {
  switch (w) {
    case Winner::ModelA: return "model_a";
    case Winner::ModelB: return "model_b";
    case Winner::Tie: return "tie";
    case Winner::TieBothBad: return "tie (bothbad)";
  }
  return "tie";
}

Winner winner_from_name(const std::string& name) {
  if (name == "model_a") return Winner::ModelA;
  if (name == "model_b") return Winner::ModelB;
  if (name == "tie") return Winner::Tie;
  if (name == "tie (bothbad)") return Winner::TieBothBad;
  throw_invalid("unknown winner \"" + name + "\"",
                {.key = "winner", .hint = "one of model_a, model_b, tie, tie (bothbad)"});
}

nlohmann::ordered_json battle_to_json(const Battle& b) {
  nlohmann::ordered_json j;
  j["question_id"] = b.question_id;
  j["model_a"] = b.model_a;
  j["model_b"] = b.model_b;
  j["winner"] = winner_name(b.winner);
  j["judge"] = b.judge;
  j["category"] = b.category;
  auto games = nlohmann::ordered_json::array();
  for (const Game& g : b.games) {
    nlohmann::ordered_json gj;
    gj["order"] = g.order;
    gj["score_a"] = g.score_a ? nlohmann::ordered_json(*g.score_a) : nlohmann::ordered_json(nullptr);
    gj["score_b"] = g.score_b ? nlohmann::ordered_json(*g.score_b) : nlohmann::ordered_json(nullptr);
    gj["judgment"] = g.judgment;
    if (g.unparseable()) gj["unparseable"] = true;
    games.push_back(std::move(gj));
  }
  j["games"] = std::move(games);
  j["tstamp"] = b.tstamp;
  for (const auto& [k, v] : b.extra.items())
    if (!j.contains(k)) j[k] = v;
  return j;
}

namespace {

std::string string_field(const nlohmann::json& r, const char* key, bool required, const ErrorContext& where) {
  auto it = r.find(key);
  if (it == r.end() || it->is_null()) {
    if (required) throw_invalid(std::string("missing \"") + key + "\"", {where.file, where.line, 0, key});
    return "";
  }
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  throw_invalid(std::string("\"") + key + "\" must be a string", {where.file, where.line, 0, key});
}

std::optional<double> score_field(const nlohmann::json& g, const char* key, const ErrorContext& where) {
  auto it = g.find(key);
  if (it == g.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) throw_invalid(std::string("games: \"") + key + "\" must be a number or null", {where.file, where.line, 0, key});
  return it->get<double>();
}

}  // namespace

Battle battle_from_json(const nlohmann::json& r, const std::string& file, long line) {
  const ErrorContext where{file, line};
  if (!r.is_object()) throw_invalid("a battle record must be a JSON object", where);
  Battle b;
  b.question_id = string_field(r, "question_id", false, where);
  b.model_a = string_field(r, "model_a", true, where);
  b.model_b = string_field(r, "model_b", true, where);
  if (b.model_a.empty() || b.model_b.empty()) throw_invalid("model_a and model_b must be non-empty", {file, line, 0, "model_a"});
  if (b.model_a == b.model_b) throw_invalid("model_a and model_b are the same model \"" + b.model_a + "\"", {file, line, 0, "model_b"});
  try {
    b.winner = winner_from_name(string_field(r, "winner", true, where));
  } catch (const Error& e) {
    throw_invalid(e.message(), {file, line, 0, "winner", e.context().hint});
  }
  b.judge = string_field(r, "judge", false, where);
  b.category = string_field(r, "category", false, where);
  if (auto it = r.find("tstamp"); it != r.end() && it->is_number()) b.tstamp = it->get<double>();
  if (auto it = r.find("games"); it != r.end() && !it->is_null()) {
    if (!it->is_array()) throw_invalid("\"games\" must be an array", {file, line, 0, "games"});
    for (const auto& g : *it) {
      if (!g.is_object()) throw_invalid("each game must be an object", {file, line, 0, "games"});
      Game game;
      game.order = string_field(g, "order", false, where);
      if (game.order.empty()) game.order = "ab";
      if (game.order != "ab" && game.order != "ba")
        throw_invalid("game order must be \"ab\" or \"ba\", got \"" + game.order + "\"", {file, line, 0, "games.order"});
      game.score_a = score_field(g, "score_a", where);
      game.score_b = score_field(g, "score_b", where);
      game.judgment = string_field(g, "judgment", false, where);
      b.games.push_back(std::move(game));
    }
  }
  static const char* known[] = {"question_id", "model_a", "model_b", "winner", "judge", "category", "games", "tstamp"};
  for (const auto& [k, v] : r.items()) {
    bool is_known = false;
    for (const char* kk : known) is_known = is_known || k == kk;
    if (!is_known) b.extra[k] = v;
  }
  return b;
}

std::vector<Battle> read_battles(const std::string& path) {
  // A FastChat file is one JSON array; ours is JSONL. Peek at the first non-blank byte.
  std::ifstream in(path);
  if (!in) throw_runtime("cannot open battle file", {.file = path});
  char c = 0;
  while (in.get(c) && std::isspace(static_cast<unsigned char>(c))) {
  }
  in.close();
  std::vector<Battle> out;
  if (c == '[') {
    const nlohmann::json all = read_json_file(path);
    out.reserve(all.size());
    for (size_t i = 0; i < all.size(); ++i) {
      try {
        out.push_back(battle_from_json(all[i], path, 0));
      } catch (const Error& e) {
        throw_invalid(e.message() + " (record " + std::to_string(i) + ")", e.context());
      }
    }
    return out;
  }
  for_each_jsonl(path, [&](const nlohmann::json& r, long line) { out.push_back(battle_from_json(r, path, line)); });
  return out;
}

}  // namespace fw::arena
