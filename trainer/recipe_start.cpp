#include "trainer/recipe_start.h"

#include <exception>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "trainer/model_setup.h"

namespace fw::trainer {
namespace fs = std::filesystem;

RuntimeOptions runtime_options(const RunSection& run) {
  return {run.device, run.dtype, run.threads, run.deterministic, run.seed};
}

std::vector<ContentKey> common_content_keys(const ModelSection& model, const TokenizerSection& tokenizer,
                                            const std::vector<std::string>& train_files) {
  std::vector<ContentKey> keys = {
      {"model.path", {model.path}}, {"tokenizer.path", {tokenizer.path}}, {"data.train", train_files, true}};
  // A template file given by path: its content, not its name, is what the run renders with.
  const std::string& t = model.chat_template;
  if (t.ends_with(".jinja") || t.ends_with(".json")) keys.push_back({"model.chat_template", {t}});
  return keys;
}

RecipeStart start_recipe(const RunSection& run, const RunIdentity& identity, const std::string& resume_setting,
                         const ModelSection& model, const TokenizerSection& tokenizer,
                         const std::vector<std::string>& data_files) {
  const dist::DistEnv env = dist::read_dist_env();
  log::set_rank(env.rank, env.world_size);
  RuntimeOptions runtime = runtime_options(run);
  runtime.local_rank = env.local_rank;
  runtime.distributed = env.distributed();
  const at::Device device = setup_runtime(runtime);
  install_interrupt_handler();
  auto pg = dist::ProcessGroup::create(env, device, {.timeout = std::chrono::seconds(run.dist_timeout_seconds)});
  if (env.distributed()) log::info("data parallel over " + std::to_string(env.world_size) + " ranks (" + env.describe() + ")");
  const bool rank0 = pg->rank() == 0;
  const std::string& output_dir = run.output_dir;
  // Rank 0 checks the folder against this recipe and records it; a refusal stops every
  // rank with rank 0's message.
  std::exception_ptr refused;
  std::string verdict;  // "" = go on; else the exit-code digit and the message
  if (rank0) {
    try {
      record_run(output_dir, identity);
    } catch (const Error& e) {
      refused = std::current_exception();
      verdict = std::to_string(exit_code(e)) + e.what();
    } catch (const std::exception& e) {  // e.g. a filesystem error: the other ranks must hear of it too
      refused = std::current_exception();
      verdict = std::string("1") + e.what();
    }
  }
  if (env.distributed()) verdict = dist::broadcast_string(*pg, verdict, 0);
  if (refused) std::rethrow_exception(refused);
  if (!verdict.empty())
    throw Error(verdict[0] == '2' ? ErrorKind::InvalidInput : ErrorKind::Runtime, "rank 0: " + verdict.substr(1));
  // Rank 0 decides where to resume from (verifying, and clearing stale staging folders);
  // the others take its answer.
  std::optional<CheckpointInfo> resume;
  if (rank0) resume = resolve_resume(parse_resume_mode(resume_setting), output_dir);
  const std::string chosen = dist::broadcast_string(*pg, resume ? resume->path : "", 0);
  const int64_t chosen_step = static_cast<int64_t>(dist::all_reduce_sum(*pg, rank0 && resume ? resume->step : 0.0));
  if (!rank0 && !chosen.empty()) resume = CheckpointInfo{chosen, chosen_step};
  const data::ChatTemplate chat_template =
      resolve_chat_template(model.chat_template, model.path, model.chat_template_kwargs);
  log::info("chat template: " + chat_template.name());
  // A tokenizer trained on the data is trained once, by rank 0; the others load it.
  const std::string tokenizer_cache = (fs::path(output_dir) / "tokenizer" / "tokenizer.model").string();
  std::optional<data::Tokenizer> tok;
  if (rank0) tok = prepare_tokenizer(tokenizer, model.path, data_files, chat_template, tokenizer_cache);
  pg->barrier();
  if (!rank0) tok = prepare_tokenizer(tokenizer, model.path, data_files, chat_template, tokenizer_cache);
  auto writer = tokenizer_writer(tokenizer, model.path, *tok, chat_template);
  return RecipeStart{device, env, std::move(pg), std::move(resume), chat_template, std::move(*tok), std::move(writer)};
}

}  // namespace fw::trainer
