fw_add_test(test_synth
  SOURCES  unit/synth/test_tasks.cpp unit/synth/test_verify.cpp
          unit/synth/test_task_io.cpp unit/synth/test_pipeline.cpp
  LIBS fw_synth
  LABELS unit)
