# The hostile-input parser (safetensors headers) under AddressSanitizer and UBSan: its
# sources and core are compiled again with the sanitizers into one torch-free test, so a
# malformed file that read out of bounds would fail the test, not just return garbage.
if(FLYWHEEL_ASAN_TESTS)
  add_executable(test_safetensors_asan
    asan/test_safetensors_hostile.cpp
    support/test_tmp.cpp
    ${CMAKE_SOURCE_DIR}/model/safetensors_format.cpp
    ${CMAKE_SOURCE_DIR}/core/error.cpp)
  target_include_directories(test_safetensors_asan PRIVATE ${CMAKE_SOURCE_DIR})
  target_compile_options(test_safetensors_asan PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1)
  target_link_options(test_safetensors_asan PRIVATE -fsanitize=address,undefined)
  target_link_libraries(test_safetensors_asan PRIVATE nlohmann_json::nlohmann_json GTest::gtest GTest::gtest_main)
  target_compile_definitions(test_safetensors_asan PRIVATE FW_TEST_TMP_ROOT="${FW_TEST_TMP_DIR}")
  # Not through ccache's PCH: plain flags only.
  gtest_discover_tests(test_safetensors_asan
    PROPERTIES LABELS "unit;asan" ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1"
    DISCOVERY_TIMEOUT 60)
endif()
