# End-to-end tests of the `flywheel` binary on a tiny self-made model.
fw_add_test(test_cli_generate TORCH
  SOURCES integration/test_cli_generate.cpp integration/tiny_checkpoint.cpp
  LIBS fw_model fw_data fw_rollout
  LABELS integration)
add_dependencies(test_cli_generate flywheel)

fw_add_test(test_sft_cli TORCH
  SOURCES integration/test_sft_resume.cpp
  LIBS fw_model
  LABELS integration
  TIMEOUT 600)
add_dependencies(test_sft_cli flywheel)

fw_add_test(test_preference_cli TORCH
  SOURCES integration/test_preference_recipes.cpp integration/cli_run.cpp
  LIBS fw_model fw_synth
  LABELS integration
  TIMEOUT 600)
add_dependencies(test_preference_cli flywheel)

fw_add_test(test_ppo_cli TORCH
  SOURCES integration/test_ppo_recipe.cpp integration/test_cli_synth.cpp integration/cli_run.cpp
  LIBS fw_model fw_synth
  LABELS integration
  TIMEOUT 600)
add_dependencies(test_ppo_cli flywheel)

# Rerunning a trainer into its run folder under a changed recipe (issue 18): refused with
# the keys named, max_steps-only changes continue, --restart moves the run aside.
fw_add_test(test_run_folder_cli TORCH
  SOURCES integration/test_run_folder.cpp integration/cli_run.cpp
  LIBS fw_model fw_synth
  LABELS integration
  TIMEOUT 600)
add_dependencies(test_run_folder_cli flywheel)

fw_add_test(test_battle_http TORCH
  SOURCES integration/test_battle_http.cpp integration/serve_process.cpp integration/cli_run.cpp
          integration/tiny_checkpoint.cpp
  LIBS fw_model fw_data fw_synth PkgConfig::HTTPLIB
  LABELS integration
  TIMEOUT 300)
add_dependencies(test_battle_http flywheel)

fw_add_test(test_flywheel_run TORCH
  SOURCES integration/test_flywheel_run.cpp integration/cli_run.cpp
  LIBS fw_model fw_synth
  LABELS integration
  TIMEOUT 900)
add_dependencies(test_flywheel_run flywheel)

# A stage kind registered from outside flywheel/ (issue 19): one file (copy_stage.cpp) and a
# registry call, run inside `flywheel run` through the CLI's own code path (apps/cmd_run.cpp).
fw_add_test(test_flywheel_stage_kind TORCH
  SOURCES integration/test_flywheel_stage_kind.cpp integration/copy_stage.cpp integration/tiny_checkpoint.cpp
          ${CMAKE_SOURCE_DIR}/apps/cmd_run.cpp
  LIBS fw_flywheel fw_model fw_data fw_synth CLI11::CLI11
  LABELS integration
  TIMEOUT 600)

fw_add_test(test_shipped_configs TORCH
  SOURCES integration/test_shipped_configs.cpp integration/cli_run.cpp
  LIBS fw_model
  LABELS integration)
add_dependencies(test_shipped_configs flywheel)

# `make demo` end to end and what every stage must do to the target (issue 17): minutes.
fw_add_test(test_flywheel_demo TORCH
  SOURCES integration/test_flywheel_demo.cpp integration/cli_run.cpp
  LIBS fw_model
  LABELS integration slow
  TIMEOUT 1500)
add_dependencies(test_flywheel_demo flywheel)

# A Hub-style folder (Qwen3, tokenizer.json only, a real Jinja template) through SFT, DPO
# and a battle (tests/integration/hf_chat_model.py makes it with transformers). Slow: each
# test process makes the folder again (about 25 s of transformers), 3 minutes in all.
fw_add_test(test_hf_chat_model TORCH
  SOURCES integration/test_hf_chat_model.cpp integration/cli_run.cpp
  LIBS fw_model fw_synth
  LABELS integration slow
  TIMEOUT 600)
add_dependencies(test_hf_chat_model flywheel)
