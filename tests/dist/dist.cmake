# Data parallelism: the environment, Gloo collectives and gradient sync in one process
# (threads), and (integration) recipes on 2 processes.
fw_add_test(test_dist TORCH
  SOURCES dist/test_env.cpp dist/test_collectives.cpp
  LIBS fw_dist
  LABELS unit dist)

fw_add_test(test_dp_recipes TORCH
  SOURCES dist/test_dp_recipes.cpp integration/cli_run.cpp
  LIBS fw_model fw_synth
  LABELS integration dist
  TIMEOUT 600)
add_dependencies(test_dp_recipes flywheel flywheel-launch)

fw_add_test(test_dp_ppo TORCH
  SOURCES dist/test_dp_ppo.cpp unit/model/tiny_models.cpp
  LIBS fw_trainer
  LABELS unit dist)
