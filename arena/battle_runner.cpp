#include "arena/battle_runner.h"

#include <chrono>
#include <filesystem>
#include <set>

#include "arena/response_cache.h"
#include "core/atomic_file.h"
#include "core/json_io.h"
#include "core/log.h"

namespace fs = std::filesystem;

namespace fw::arena {

PairMode pair_mode_from_name(const std::string& name) {
  if (name == "all") return PairMode::AllPairs;
  if (name == "target") return PairMode::TargetVsEach;
  throw_invalid("unknown pairing \"" + name + "\"", {.hint = "all | target"});
}

nlohmann::ordered_json BattleRunSummary::to_json() const {
  nlohmann::ordered_json j;
  j["battles_planned"] = battles_planned;
  j["battles_done_before"] = battles_done_before;
  j["battles_written"] = battles_written;
  j["unparseable_written"] = unparseable_written;
  j["responses_requested"] = responses_requested;
  j["responses_cached"] = responses_cached;
  j["judgments_requested"] = judgments_requested;
  j["judgments_cached"] = judgments_cached;
  j["failures"] = failures;
  if (!first_failure.empty()) j["first_failure"] = first_failure;
  auto c = nlohmann::ordered_json::object();
  for (const auto& [judge, counts] : consistency)
    c[judge] = {{"battles", counts.first},
                {"inconsistent", counts.second},
                {"rate", counts.first ? double(counts.second) / double(counts.first) : 0.0}};
  j["position_inconsistency"] = std::move(c);
  return j;
}

std::vector<std::pair<size_t, size_t>> battle_pairs(const std::vector<Competitor*>& competitors, PairMode mode,
                                                    const std::string& target) {
  std::vector<std::pair<size_t, size_t>> pairs;
  if (mode == PairMode::AllPairs) {
    for (size_t i = 0; i < competitors.size(); ++i)
      for (size_t j = i + 1; j < competitors.size(); ++j) pairs.push_back({i, j});
    return pairs;
  }
  size_t t = competitors.size();
  for (size_t i = 0; i < competitors.size(); ++i)
    if (competitors[i]->name() == target) t = i;
  if (t == competitors.size())
    throw_invalid("the target \"" + target + "\" is not among the competitors", {.key = "target"});
  for (size_t i = 0; i < competitors.size(); ++i)
    if (i != t) pairs.push_back({t, i});
  return pairs;
}

namespace {

std::string battle_key(const std::string& qid, const std::string& a, const std::string& b) {
  return qid + '\x1f' + a + '\x1f' + b;
}

// The (question_id, model_a, model_b) of every record already written.
void read_done(const std::string& path, std::set<std::string>& done) {
  if (const size_t dropped = repair_jsonl_tail(path))
    log::warn(path + ": dropped a torn last record (" + std::to_string(dropped) + " bytes, an interrupted write)");
  if (!fs::exists(path)) return;
  for_each_jsonl(path, [&](const nlohmann::json& r, long) {
    done.insert(battle_key(r.value("question_id", ""), r.value("model_a", ""), r.value("model_b", "")));
  });
}

nlohmann::json outcome_to_json(const JudgeOutcome& o) {
  return {{"score_first", o.score_first ? nlohmann::json(*o.score_first) : nlohmann::json(nullptr)},
          {"score_second", o.score_second ? nlohmann::json(*o.score_second) : nlohmann::json(nullptr)},
          {"judgment", o.judgment},
          {"attempts", o.attempts}};
}

JudgeOutcome outcome_from_json(const nlohmann::json& j) {
  JudgeOutcome o;
  if (j.contains("score_first") && j["score_first"].is_number()) o.score_first = j["score_first"].get<double>();
  if (j.contains("score_second") && j["score_second"].is_number()) o.score_second = j["score_second"].get<double>();
  o.judgment = j.value("judgment", "");
  o.attempts = j.value("attempts", 1);
  return o;
}

struct Failures {
  int64_t count = 0;
  std::string first;
  bool invalid_input = false;
  void add(const Error& e) {
    if (count++ == 0) first = e.what();
    invalid_input = invalid_input || e.kind() == ErrorKind::InvalidInput;
  }
};

// The judge, the verdict rule and each competitor's identity are recorded in
// arena.json; a rerun with any of them changed would mix two arenas in one battle file.
void check_same_arena(const std::string& dir, const nlohmann::json& judge, const VerdictOptions& verdict,
                      const std::vector<Competitor*>& competitors, const std::vector<nlohmann::json>& identity) {
  const std::string path = dir + "/arena.json";
  nlohmann::json now = {{"judge", judge},
                        {"verdict", {{"mode", verdict.mode == VerdictMode::Sum ? "sum" : "agree"},
                                     {"tie_margin", verdict.tie_margin}}},
                        {"competitors", nlohmann::json::object()}};
  const char* hint = "use a new output_dir, or delete the folder's battle files to replay";
  if (fs::exists(path)) {
    const nlohmann::json before = read_json_file(path);
    if (before.value("judge", nlohmann::json()) != now["judge"])
      throw_invalid("the judge differs from the one that played the battles in " + dir, {.file = path, .key = "judge", .hint = hint});
    if (before.value("verdict", nlohmann::json()) != now["verdict"])
      throw_invalid("the verdict rule differs from the one used for the battles in " + dir, {.file = path, .key = "verdict", .hint = hint});
    now["competitors"] = before.value("competitors", nlohmann::json::object());
  }
  for (size_t i = 0; i < competitors.size(); ++i) {
    const std::string& name = competitors[i]->name();
    if (now["competitors"].contains(name) && now["competitors"][name] != identity[i])
      throw_invalid("competitor \"" + name + "\" is not the model that played the battles in " + dir +
                        " (its model, weights or sampling changed)",
                    {.file = path, .key = "competitors", .hint = hint});
    now["competitors"][name] = identity[i];
  }
  write_file_atomic(path, now.dump(2) + "\n");
}

}  // namespace

BattleRunSummary run_battles(const std::vector<data::PromptRecord>& prompts, const std::vector<Competitor*>& competitors,
                             Judge& judge, const BattleRunOptions& opts) {
  if (competitors.size() < 2) throw_invalid("a battle needs at least two competitors", {.key = "competitors"});
  std::set<std::string> names;
  for (const Competitor* c : competitors)
    if (!names.insert(c->name()).second) throw_invalid("two competitors are named \"" + c->name() + "\"", {.key = "competitors"});
  const auto pairs = battle_pairs(competitors, opts.pairs, opts.target);
  if (opts.chunk_prompts < 1) throw_invalid("chunk_prompts must be at least 1", {.key = "chunk_prompts"});

  fs::create_directories(opts.out_dir);
  const std::string dir = opts.out_dir;
  std::vector<nlohmann::json> identity;
  for (const Competitor* c : competitors) identity.push_back(c->identity());
  ResponseCache responses(dir + "/responses.jsonl");
  ResponseCache judgments(dir + "/judgments.jsonl");
  std::set<std::string> done;
  read_done(dir + "/battles.jsonl", done);
  read_done(dir + "/unparseable.jsonl", done);
  // answers.jsonl: the response each model gave to each question id. The response cache
  // is keyed by content (equal prompts under different ids share one entry), so the
  // per-id view the slice builders need is written here.
  std::set<std::string> answered;
  if (const size_t dropped = repair_jsonl_tail(dir + "/answers.jsonl"))
    log::warn(dir + "/answers.jsonl: dropped a torn last record (" + std::to_string(dropped) + " bytes)");
  if (fs::exists(dir + "/answers.jsonl"))
    for_each_jsonl(dir + "/answers.jsonl", [&](const nlohmann::json& r, long) { answered.insert(r.value("key", "")); });
  JsonlWriter answers_out(dir + "/answers.jsonl", /*append=*/true);
  JsonlWriter battles_out(dir + "/battles.jsonl", /*append=*/true);
  JsonlWriter unparseable_out(dir + "/unparseable.jsonl", /*append=*/true);

  BattleRunSummary s;
  s.battles_planned = static_cast<int64_t>(pairs.size() * prompts.size());
  const nlohmann::json judge_identity = judge.identity();
  check_same_arena(dir, judge_identity, opts.verdict, competitors, identity);
  Failures failures;
  const auto t0 = std::chrono::steady_clock::now();

  for (size_t begin = 0; begin < prompts.size(); begin += static_cast<size_t>(opts.chunk_prompts)) {
    const size_t end = std::min(prompts.size(), begin + static_cast<size_t>(opts.chunk_prompts));
    struct Todo { size_t prompt, pair; };
    std::vector<Todo> todo;
    for (size_t p = begin; p < end; ++p)
      for (size_t k = 0; k < pairs.size(); ++k) {
        const auto key = battle_key(prompts[p].id, competitors[pairs[k].first]->name(), competitors[pairs[k].second]->name());
        if (done.count(key)) ++s.battles_done_before;
        else todo.push_back({p, k});
      }
    if (todo.empty()) continue;

    // 1. Responses of every competitor in play, from the cache or freshly asked for.
    std::map<std::pair<size_t, size_t>, std::string> reply;  // (competitor, prompt) -> content
    for (size_t c = 0; c < competitors.size(); ++c) {
      std::vector<size_t> wanted;
      for (const Todo& t : todo)
        if ((pairs[t.pair].first == c || pairs[t.pair].second == c) &&
            (wanted.empty() || wanted.back() != t.prompt))
          wanted.push_back(t.prompt);
      std::vector<const data::PromptRecord*> ask;
      std::vector<std::string> ask_keys;
      std::vector<size_t> ask_prompt;
      for (size_t p : wanted) {
        const std::string key =
            ResponseCache::key({{"competitor", identity[c]}, {"prompt", competitors[c]->answer_inputs(prompts[p])}});
        if (auto v = responses.get(key)) {
          reply[{c, p}] = (*v)["content"].get<std::string>();
          ++s.responses_cached;
        } else {
          ask.push_back(&prompts[p]);
          ask_keys.push_back(key);
          ask_prompt.push_back(p);
        }
      }
      if (ask.empty()) continue;
      competitors[c]->respond(ask, [&](size_t i, const rollout::ChatResult* r, const Error* e) {
        if (e) return failures.add(*e);
        responses.put(ask_keys[i], {{"question_id", prompts[ask_prompt[i]].id},
                                    {"model", competitors[c]->name()},
                                    {"content", r->content},
                                    {"finish_reason", r->finish_reason},
                                    {"simulated", competitors[c]->simulated()}});
        reply[{c, ask_prompt[i]}] = r->content;
        ++s.responses_requested;
      });
      if (opts.release_models) competitors[c]->release();
    }

    for (const auto& [cp, content] : reply) {
      const std::string key = prompts[cp.second].id + '\x1f' + competitors[cp.first]->name();
      if (!answered.insert(key).second) continue;
      answers_out.write(nlohmann::json{{"key", key},
                                       {"value", {{"question_id", prompts[cp.second].id},
                                                  {"model", competitors[cp.first]->name()},
                                                  {"content", content}}}});
    }

    // 2. Two games per battle: (a, b) shown in that order, then swapped.
    std::vector<JudgeRequest> requests;
    std::vector<std::string> request_keys;
    std::map<std::string, JudgeOutcome> outcome;  // judgment key -> outcome
    auto game_key = [&](size_t p, const std::string& first, const std::string& second) {
      // The reference too: the rule judge scores against it.
      return ResponseCache::key({{"judge", judge_identity}, {"messages", data::messages_to_json(prompts[p].messages)},
                                 {"reference", prompts[p].reference},
                                 {"first", first}, {"second", second}});
    };
    std::set<std::string> asked;
    for (const Todo& t : todo) {
      const auto [a, b] = pairs[t.pair];
      auto ra = reply.find({a, t.prompt}), rb = reply.find({b, t.prompt});
      if (ra == reply.end() || rb == reply.end()) continue;
      for (int order = 0; order < 2; ++order) {
        const std::string& first = order == 0 ? ra->second : rb->second;
        const std::string& second = order == 0 ? rb->second : ra->second;
        const std::string key = game_key(t.prompt, first, second);
        if (outcome.count(key) || asked.count(key)) continue;
        if (auto v = judgments.get(key)) {
          outcome[key] = outcome_from_json(*v);
          ++s.judgments_cached;
        } else {
          asked.insert(key);
          requests.push_back({&prompts[t.prompt], first, second});
          request_keys.push_back(key);
        }
      }
    }
    if (!requests.empty())
      judge.judge(requests, [&](size_t i, const JudgeOutcome* o, const Error* e) {
        if (e) return failures.add(*e);
        judgments.put(request_keys[i], outcome_to_json(*o));
        outcome[request_keys[i]] = *o;
        ++s.judgments_requested;
      });

    // 3. Records, in the chunk's fixed order.
    for (const Todo& t : todo) {
      const auto [a, b] = pairs[t.pair];
      auto ra = reply.find({a, t.prompt}), rb = reply.find({b, t.prompt});
      if (ra == reply.end() || rb == reply.end()) continue;
      auto g1 = outcome.find(game_key(t.prompt, ra->second, rb->second));
      auto g2 = outcome.find(game_key(t.prompt, rb->second, ra->second));
      if (g1 == outcome.end() || g2 == outcome.end()) continue;
      Battle battle;
      battle.question_id = prompts[t.prompt].id;
      battle.model_a = competitors[a]->name();
      battle.model_b = competitors[b]->name();
      battle.judge = judge.name();
      battle.category = prompts[t.prompt].category;
      battle.games = {{"ab", g1->second.score_first, g1->second.score_second, g1->second.judgment},
                      {"ba", g2->second.score_second, g2->second.score_first, g2->second.judgment}};
      battle.tstamp = opts.record_time
                          ? std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()
                          : 0.0;
      const auto winner = combine_games(battle.games, opts.verdict);
      if (winner) {
        battle.winner = *winner;
        battles_out.write(battle_to_json(battle));
        ++s.battles_written;
      } else {
        nlohmann::ordered_json j = battle_to_json(battle);
        j["winner"] = nullptr;
        j["unparseable"] = true;
        unparseable_out.write(j);
        ++s.unparseable_written;
      }
      done.insert(battle_key(battle.question_id, battle.model_a, battle.model_b));
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log::info("battles: prompts " + std::to_string(end) + "/" + std::to_string(prompts.size()) + ", " +
              std::to_string(s.battles_written + s.unparseable_written) + " new battles (" +
              std::to_string(s.unparseable_written) + " unparseable), " + std::to_string(s.responses_requested) +
              " responses asked, " + std::to_string(s.judgments_requested) + " judgments asked, " +
              std::to_string(static_cast<int>(secs)) + " s");
  }
  // Position inconsistency over every battle of the file (a resumed run wrote only some).
  for (const Battle& b : read_battles(dir + "/battles.jsonl")) {
    if (b.judge != judge.name() || b.games.size() < 2 || b.games[0].unparseable() || b.games[1].unparseable()) continue;
    auto& c = s.consistency[b.judge];
    ++c.first;
    c.second += position_inconsistent(b.games, opts.verdict.tie_margin) ? 1 : 0;
  }
  s.failures = failures.count;
  s.first_failure = failures.first;
  write_file_atomic(dir + "/summary.json", s.to_json().dump(2) + "\n");
  if (failures.count) {
    const std::string msg = std::to_string(failures.count) + " requests failed (first: " + failures.first +
                            "); everything else is saved in " + dir + ", rerun to finish";
    if (failures.invalid_input) throw_invalid(msg);
    throw_runtime(msg);
  }
  return s;
}

}  // namespace fw::arena
