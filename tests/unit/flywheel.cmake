# flywheel/ tests: the validation split, the choice of the snapshot that goes on, the
# eval section's anchor. (The whole loop: tests/integration/test_flywheel_run.cpp.)
fw_add_test(test_flywheel_eval
  SOURCES unit/flywheel/test_eval_choice.cpp
  LIBS fw_flywheel
  LABELS unit)
