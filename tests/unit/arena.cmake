# arena/ tests. One executable per concept, so each builds alone.
fw_add_test(test_arena_records
  SOURCES unit/arena/test_battle_record.cpp
  LIBS fw_arena
  LABELS unit)

fw_add_test(test_arena_judges
  SOURCES unit/arena/test_judge_parse.cpp
  LIBS fw_arena
  LABELS unit)

fw_add_test(test_arena_response_cache
  SOURCES unit/arena/test_response_cache.cpp
  LIBS fw_arena
  LABELS unit)
