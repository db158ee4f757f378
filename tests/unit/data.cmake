fw_add_test(test_data
  SOURCES unit/data/tokenizer_fixture.cpp unit/data/test_tokenizer.cpp
          unit/data/test_chat_template.cpp
  LIBS fw_data
  LABELS unit)

fw_add_test(test_data_generation_prompt
  SOURCES unit/data/tokenizer_fixture.cpp unit/data/test_generation_prompt.cpp
  LIBS fw_data
  LABELS unit)

# The native tokenizer.json loader (data/tokenizers): hand-checked encodings, hostile files,
# streaming and long inputs.
fw_add_test(test_data_hf_tokenizer
  SOURCES unit/data/test_hf_tokenizer.cpp
  LIBS fw_data
  LABELS unit)
