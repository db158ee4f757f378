fw_add_test(test_core
  SOURCES unit/core/test_rng.cpp unit/core/test_error.cpp unit/core/test_json_io.cpp unit/core/test_strings.cpp
  LIBS fw_core
  LABELS unit)
