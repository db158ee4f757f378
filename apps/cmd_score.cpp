// flywheel score --model RM_DIR --data FILE.jsonl [--out FILE.jsonl]
// Scores with a reward model (LlamaForSequenceClassification folder): the reward is the
// head at the last token of the templated conversation.
//   {"messages": [...]}                      -> {"id", "score"}
//   {"prompt", "chosen", "rejected"} (TRL)   -> {"id", "chosen_score", "rejected_score"}
// For preference data the share of pairs scored chosen > rejected is logged.
#include <CLI/CLI.hpp>

#include <ATen/ATen.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/model_loading.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "apps/template_kwargs_flag.h"
#include "data/chat_template.h"
#include "data/tokenizer.h"
#include "rollout/conversation_scorer.h"

namespace fw::apps {
namespace {

struct ScoreFlags {
  std::string model_dir, data_file, out_file;
  std::string template_name = "auto", template_kwargs;
  int batch_size = 16;
  DeviceFlags device;
};

// A field as messages: a list as is, a string as one message of `role`.
std::vector<data::Message> as_messages(const nlohmann::ordered_json& j, const char* key, const char* role) {
  if (j[key].is_string()) return {{role, j[key].get<std::string>()}};
  return data::parse_messages(j[key]);
}

void run_score(const ScoreFlags& f) {
  f.device.apply_threads();
  const at::Device device = f.device.resolve_device();
  auto scorer = rollout::ConversationScorer::load(
      f.model_dir, {.device = device, .dtype = f.device.resolve_dtype(), .template_name = f.template_name,
                    .template_kwargs = template_kwargs_from_flag(f.template_kwargs), .batch_size = f.batch_size});

  std::vector<std::string> ids;
  std::vector<std::vector<data::Message>> convs;
  bool pairs = false;
  for_each_jsonl_ordered(f.data_file, [&](const nlohmann::ordered_json& j, long line) {
    if (!j.is_object()) throw_invalid("expected a JSON object");
    ids.push_back(j.contains("id") ? (j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump()) : std::to_string(line));
    if (j.contains("chosen") && j.contains("rejected")) {
      pairs = true;
      std::vector<data::Message> prompt = j.contains("prompt") ? as_messages(j, "prompt", "user") : std::vector<data::Message>{};
      for (const char* side : {"chosen", "rejected"}) {
        std::vector<data::Message> conv = prompt;
        for (auto& m : as_messages(j, side, "assistant")) conv.push_back(m);
        convs.push_back(conv);
      }
    } else if (j.contains("messages")) {
      if (pairs) throw_invalid("mixes preference pairs and conversations");
      convs.push_back(data::parse_messages(j["messages"]));
    } else {
      throw_invalid("missing field: expected \"messages\", or \"chosen\" and \"rejected\"");
    }
  });
  std::vector<double> scores = scorer.score(convs);

  std::unique_ptr<JsonlWriter> writer;
  if (!f.out_file.empty()) writer = std::make_unique<JsonlWriter>(f.out_file);
  int64_t correct = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    nlohmann::ordered_json rec = {{"id", ids[i]}};
    if (pairs) {
      rec["chosen_score"] = scores[2 * i];
      rec["rejected_score"] = scores[2 * i + 1];
      correct += scores[2 * i] > scores[2 * i + 1];
    } else {
      rec["score"] = scores[i];
    }
    if (writer) writer->write(rec);
    else std::printf("%s\n", rec.dump().c_str());
  }
  if (pairs && !ids.empty())
    log::info("accuracy " + std::to_string(static_cast<double>(correct) / static_cast<double>(ids.size())) + " (" +
              std::to_string(correct) + "/" + std::to_string(ids.size()) + " pairs scored chosen > rejected)");
}

}  // namespace

Run add_score_command(CLI::App& app) {
  auto f = std::make_shared<ScoreFlags>();
  app.add_option("--model", f->model_dir, "reward model folder (LlamaForSequenceClassification)")
      ->required()->check(CLI::ExistingDirectory);
  app.add_option("--data", f->data_file, "JSONL: {\"messages\"} or {\"prompt\", \"chosen\", \"rejected\"}")
      ->required()->check(CLI::ExistingFile);
  app.add_option("--out", f->out_file, "write JSONL here instead of stdout");
  app.add_option("--template", f->template_name, "auto | jinja | plain | chatml | llama2 | FILE.jinja")->capture_default_str();
  add_template_kwargs_flag(app, f->template_kwargs);
  app.add_option("--batch-size", f->batch_size, "sequences per forward")->capture_default_str()->check(CLI::PositiveNumber);
  f->device.add_to(app);
  return [f] { run_score(*f); };
}

}  // namespace fw::apps
