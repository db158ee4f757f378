fw_add_test(test_config
  SOURCES unit/config/test_schema.cpp unit/config/test_overrides.cpp unit/config/test_dump.cpp
  LIBS fw_config
  LABELS unit)
