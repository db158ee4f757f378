# flywheel/ tests: the driver's pure parts — the stage gate's check and the stages'
# held-out split; the validation split, the choice of the snapshot that goes on, the eval
# section's anchor; a given start's content hash. (The whole loop: tests/integration/test_flywheel_run.cpp.)
fw_add_test(test_flywheel_stage_gate TORCH
  SOURCES unit/flywheel/test_stage_gate.cpp
  LIBS fw_flywheel
  LABELS unit)

fw_add_test(test_flywheel_eval
  SOURCES unit/flywheel/test_eval_choice.cpp
  LIBS fw_flywheel
  LABELS unit)

fw_add_test(test_flywheel_report
  SOURCES unit/flywheel/test_report.cpp
  LIBS fw_flywheel
  LABELS unit)

fw_add_test(test_flywheel_snapshot
  SOURCES unit/flywheel/test_snapshot.cpp
  LIBS fw_flywheel
  LABELS unit)

fw_add_test(test_flywheel_answer_verifiers
  SOURCES unit/flywheel/test_answer_verifiers.cpp
  LIBS fw_flywheel
  LABELS unit)
