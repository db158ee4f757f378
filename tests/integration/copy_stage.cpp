// A stage kind from outside flywheel/ (issue 19's proof that a kind is one file and a
// registry line): "copy" trains nothing; its snapshot is a copy of its input, so the run
// goes on as if the stage had not moved the target. The driver still battles on its
// slice, gates the copy and records it like any other stage.
#include <filesystem>

#include "flywheel/stage.h"

namespace fs = std::filesystem;

namespace fw::testing {
namespace {

class CopyStage final : public flywheel::Stage {
 public:
  using Stage::Stage;

  // Nothing of its own to hash: the slice, the target and the arena identify it.
  flywheel::StagePlan plan() override { return {}; }

  // Its "data" is the slice's training prompts, counted (nothing is written).
  flywheel::StageData build_data(const flywheel::SliceBattles& battles) override {
    flywheel::StageData data;
    data.examples = static_cast<int64_t>(battles.prompts.size() - battles.heldout.size());
    data.stats = {{"examples", data.examples}};
    return data;
  }

  flywheel::Trained train(size_t attempt) override {
    const std::string to = ctx_.output_model(attempt);
    fs::create_directories(to);
    fs::copy(ctx_.target.path, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    return {};
  }
};

}  // namespace

std::unique_ptr<flywheel::Stage> make_copy_stage(const flywheel::StageContext& context) {
  return std::make_unique<CopyStage>(context);
}

}  // namespace fw::testing
