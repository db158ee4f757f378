# flywheel/ tests: the driver's pure parts (the stage gate's check, the stages' held-out split).
fw_add_test(test_flywheel_stage_gate TORCH
  SOURCES unit/flywheel/test_stage_gate.cpp
  LIBS fw_flywheel
  LABELS unit)
