fw_add_test(test_data
  SOURCES unit/data/tokenizer_fixture.cpp unit/data/test_tokenizer.cpp
          unit/data/test_chat_template.cpp
  LIBS fw_data
  LABELS unit)

fw_add_test(test_data_generation_prompt
  SOURCES unit/data/tokenizer_fixture.cpp unit/data/test_generation_prompt.cpp
  LIBS fw_data
  LABELS unit)

# The native Jinja engine (data/chat/jinja.h): expected outputs come from jinja2 as
# transformers configures it (tests/unit/data/jinja_cases.py writes the table).
fw_add_test(test_data_jinja
  SOURCES unit/data/test_jinja.cpp
  LIBS fw_data
  LABELS unit)

# Chat rendering with a model's own template: template files, special tokens, assistant
# spans and masks from offsets (data/chat/template_source.h, chat_spans.h, jinja_chat.h).
fw_add_test(test_data_chat_spans
  SOURCES unit/data/test_chat_spans.cpp
  LIBS fw_data
  LABELS unit)

# The native tokenizer.json loader (data/tokenizers): hand-checked encodings, hostile files,
# streaming and long inputs.
fw_add_test(test_data_hf_tokenizer
  SOURCES unit/data/test_hf_tokenizer.cpp
  LIBS fw_data
  LABELS unit)
