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

# The tokenizer.json loader and the Jinja engine, the other parsers of hostile input
# (a model folder from anywhere): their unit tests (hostile files and templates, limits,
# long inputs) again under AddressSanitizer and UBSan.
if(FLYWHEEL_ASAN_TESTS)
  file(GLOB FW_ASAN_HF_SOURCES ${CMAKE_SOURCE_DIR}/data/tokenizers/*.cpp)
  add_executable(test_hf_parsers_asan
    unit/data/test_hf_tokenizer.cpp
    unit/data/test_jinja.cpp
    support/test_tmp.cpp
    ${FW_ASAN_HF_SOURCES}
    ${CMAKE_SOURCE_DIR}/data/chat/jinja.cpp ${CMAKE_SOURCE_DIR}/data/chat/jinja_lexer.cpp
    ${CMAKE_SOURCE_DIR}/data/chat/jinja_parser.cpp ${CMAKE_SOURCE_DIR}/data/chat/jinja_value.cpp
    ${CMAKE_SOURCE_DIR}/data/chat/jinja_pystr.cpp ${CMAKE_SOURCE_DIR}/data/chat/jinja_eval.cpp
    ${CMAKE_SOURCE_DIR}/data/chat/jinja_expr.cpp ${CMAKE_SOURCE_DIR}/data/chat/jinja_filters.cpp
    ${CMAKE_SOURCE_DIR}/data/chat/jinja_methods.cpp ${CMAKE_SOURCE_DIR}/data/chat/jinja_json.cpp
    ${CMAKE_SOURCE_DIR}/core/error.cpp)
  target_include_directories(test_hf_parsers_asan PRIVATE ${CMAKE_SOURCE_DIR})
  target_compile_options(test_hf_parsers_asan PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1)
  target_link_options(test_hf_parsers_asan PRIVATE -fsanitize=address,undefined)
  target_link_libraries(test_hf_parsers_asan PRIVATE nlohmann_json::nlohmann_json PkgConfig::PCRE2 PkgConfig::ICU
                        GTest::gtest GTest::gtest_main)
  target_compile_definitions(test_hf_parsers_asan PRIVATE FW_TEST_TMP_ROOT="${FW_TEST_TMP_DIR}")
  gtest_discover_tests(test_hf_parsers_asan TEST_PREFIX "Asan."
    PROPERTIES LABELS "unit;asan" ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1" TIMEOUT 600
    DISCOVERY_TIMEOUT 60)
endif()
