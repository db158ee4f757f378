#include "trainer/recipe_start.h"

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "trainer/model_setup.h"

namespace fw::trainer {
namespace fs = std::filesystem;

RuntimeOptions runtime_options(const RunSection& run) {
  return {run.device, run.dtype, run.threads, run.deterministic, run.seed};
}

RecipeStart start_recipe(const RuntimeOptions& runtime, const std::string& output_dir, const std::string& config_yaml,
                         const std::string& resume_setting, const ModelSection& model, const TokenizerSection& tokenizer,
                         const std::vector<std::string>& data_files) {
  const at::Device device = setup_runtime(runtime);
  install_interrupt_handler();
  fs::create_directories(output_dir);
  write_file_atomic((fs::path(output_dir) / "config.yaml").string(), config_yaml);
  auto resume = resolve_resume(parse_resume_mode(resume_setting), output_dir);
  const data::TemplateKind chat_template = resolve_chat_template(model.chat_template, model.path);
  data::Tokenizer tok = prepare_tokenizer(tokenizer, model.path, data_files, chat_template,
                                          (fs::path(output_dir) / "tokenizer" / "tokenizer.model").string());
  auto writer = tokenizer_writer(tokenizer, model.path, tok, chat_template);
  return RecipeStart{device, std::move(resume), chat_template, std::move(tok), std::move(writer)};
}

void handle_non_finite_step(const std::string& on_nan, double loss, RunState& state, Progress& progress,
                            const std::function<std::string(const RunState&)>& save, const std::string& hint) {
  progress.clear();
  if (on_nan == "stop") {
    const std::string path = save(state);
    throw_runtime("loss is " + std::to_string(loss) + " at step " + std::to_string(state.step + 1) +
                      "; stopped with the last good state saved in " + path,
                  {.hint = hint + ", or set train.on_nan: skip"});
  }
  log::warn("non-finite loss at step " + std::to_string(state.step + 1) + ": step skipped");
  ++state.skipped_steps;
}

bool checkpoint_or_stop(const RunState& state, int64_t total_steps, int64_t every_steps, Progress& progress,
                        const std::function<std::string(const RunState&)>& save) {
  const bool due = state.step < total_steps && every_steps > 0 && state.step % every_steps == 0;
  if (interrupted()) {
    progress.clear();
    log::info("interrupted: checkpoint saved in " + save(state) + "; rerun the same command to resume");
    return true;
  }
  if (due) {
    progress.clear();  // a terminal's progress line must not swallow the log line
    save(state);
  }
  return false;
}

}  // namespace fw::trainer
