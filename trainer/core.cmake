# trainer_core: the torch-free part shared by every recipe — crash-safe checkpoint folders
# with a manifest and resume, run fingerprints (what a run folder holds; a changed recipe
# refused), metrics.jsonl, console progress.
fw_add_library(trainer_core
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/checkpoint_dir.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/run_fingerprint.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/metrics_log.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/progress.cpp
  PUBLIC_DEPS fw_core
  DEPS yaml-cpp)
