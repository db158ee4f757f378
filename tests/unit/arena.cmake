# arena/ tests. One executable per concept, so each builds alone.
fw_add_test(test_arena_records
  SOURCES unit/arena/test_battle_record.cpp
  LIBS fw_arena
  LABELS unit)

fw_add_test(test_arena_judges
  SOURCES unit/arena/test_judge_parse.cpp unit/arena/test_verdict.cpp unit/arena/test_battle_runner.cpp
  LIBS fw_arena
  LABELS unit)

fw_add_test(test_arena_response_cache
  SOURCES unit/arena/test_response_cache.cpp
  LIBS fw_arena
  LABELS unit)

# Bradley–Terry Elo: the MLE, the bootstrap, online Elo / pairwise views, recovery.
fw_add_test(test_arena_elo
  SOURCES unit/arena/test_elo_bradley_terry.cpp unit/arena/test_elo_bootstrap.cpp unit/arena/test_elo_views.cpp
          unit/arena/test_elo_recovery.cpp unit/arena/test_elo_input.cpp
  LIBS fw_arena
  LABELS unit)

# The WizardArena test-set builder: embeddings, k-means, selection, decontamination.
fw_add_test(test_arena_tfidf
  SOURCES unit/arena/test_text_embedding.cpp
  LIBS fw_arena
  LABELS unit)

fw_add_test(test_arena_kmeans
  SOURCES unit/arena/test_kmeans.cpp
  LIBS fw_arena
  LABELS unit)

fw_add_test(test_arena_testset
  SOURCES unit/arena/test_testset.cpp
  LIBS fw_arena
  LABELS unit)

fw_add_test(test_arena_decontaminate
  SOURCES unit/arena/test_decontaminate.cpp
  LIBS fw_arena
  LABELS unit)

# Leaderboards (files, reading references) and consistency metrics.
fw_add_test(test_arena_leaderboard
  SOURCES unit/arena/test_leaderboard.cpp unit/arena/test_consistency.cpp
  LIBS fw_arena
  LABELS unit)

fw_add_test(test_arena_openai_request TORCH
  SOURCES unit/arena/test_openai_request.cpp
  LIBS fw_arena_local
  LABELS unit)

fw_add_test(test_arena_local_chat TORCH
  SOURCES unit/arena/test_local_chat.cpp integration/tiny_checkpoint.cpp
  LIBS fw_arena_local
  LABELS unit)

# `flywheel serve` end to end (a subprocess on a free port, our client against it).
fw_add_test(test_serve TORCH
  SOURCES integration/test_serve.cpp integration/tiny_checkpoint.cpp integration/serve_process.cpp integration/cli_run.cpp
  LIBS fw_arena_local fw_rollout_http PkgConfig::HTTPLIB
  LABELS integration)
add_dependencies(test_serve flywheel)

# `flywheel serve` as OpenAI clients expect it: ports, stalled sockets, dropped streams,
# and the official openai package (tests/integration/openai_checks.py).
fw_add_test(test_serve_openai TORCH
  SOURCES integration/test_serve_openai.cpp integration/tiny_checkpoint.cpp integration/serve_process.cpp integration/cli_run.cpp
  LIBS fw_arena_local PkgConfig::HTTPLIB
  LABELS integration
  TIMEOUT 300)
add_dependencies(test_serve_openai flywheel)

fw_add_test(test_arena_model_embedding TORCH
  SOURCES unit/arena/test_model_embedding.cpp unit/model/tiny_models.cpp integration/tiny_checkpoint.cpp
  LIBS fw_arena_local fw_model fw_data
  LABELS unit)

# `flywheel elo` / `flywheel consistency` end to end (runs the binary).
fw_add_test(test_elo_cli
  SOURCES unit/arena/test_elo_cli.cpp
  LIBS fw_arena
  LABELS integration)
add_dependencies(test_elo_cli flywheel)

fw_add_test(test_arena_difficulty_judge
  SOURCES unit/arena/test_difficulty_judge.cpp
  LIBS fw_arena PkgConfig::HTTPLIB
  LABELS unit)

# `flywheel testset` end to end on a small synthetic pool.
fw_add_test(test_arena_testset_cli TORCH
  SOURCES integration/test_cli_testset.cpp integration/cli_run.cpp
  LIBS fw_model
  LABELS integration)
add_dependencies(test_arena_testset_cli flywheel)

# Slice builders: battles -> SFT / DPO / RM / PPO data, the pool split; read back by data/.
fw_add_test(test_arena_slices
  SOURCES unit/arena/test_slices.cpp unit/data/tokenizer_fixture.cpp
  LIBS fw_arena
  LABELS unit)

# SFT data selection, the Table-3 ablation's arms: judge, random, k-means, longest.
fw_add_test(test_arena_sft_selection
  SOURCES unit/arena/test_sft_selection.cpp
  LIBS fw_arena
  LABELS unit)
