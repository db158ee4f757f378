# Parity with Hugging Face transformers. A fixture builds the reference models and
# outputs once per ctest run (tests/parity/hf_reference.py); the C++ tests compare.
set(FW_PARITY_DIR ${CMAKE_BINARY_DIR}/parity-ref)
add_test(NAME parity_reference
         COMMAND ${FLYWHEEL_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/parity/hf_reference.py make ${FW_PARITY_DIR})
set_tests_properties(parity_reference PROPERTIES
  FIXTURES_SETUP hf_reference LABELS parity TIMEOUT 600
  ENVIRONMENT "HF_HUB_OFFLINE=1;OMP_NUM_THREADS=2")
fw_add_test(test_hf_parity TORCH
  SOURCES parity/test_hf_parity.cpp
  LIBS fw_model fw_rollout
  LABELS parity
  FIXTURES hf_reference)

# Parity with TRL's DPO and reward-model losses: the test runs tests/parity/trl_losses.py,
# which calls the installed TRL's own loss code on fixed log-probs, and compares.
fw_add_test(test_trl_losses TORCH
  SOURCES parity/test_trl_losses.cpp
  LIBS fw_losses
  LABELS parity)

# Parity with FastChat's Elo (scikit-learn's LogisticRegression as compute_mle_elo sets it
# up, and compute_online_elo): the test writes a fixed battle set and runs
# tests/parity/elo_reference.py on it.
fw_add_test(test_elo_parity
  SOURCES parity/test_elo_parity.cpp
  LIBS fw_arena
  LABELS parity)

# Parity of the native Jinja engine (data/chat/jinja.h) with transformers'
# apply_chat_template: the test runs tests/parity/chat_templates.py, which renders every
# template under tests/data/chat_templates on its conversations, and compares bytes.
fw_add_test(test_jinja_parity
  SOURCES parity/test_jinja_parity.cpp
  LIBS fw_data
  LABELS parity)

# Parity of the native tokenizer.json loader with the installed `tokenizers`: a fixture runs
# tests/parity/hf_tokenizers_reference.py once per ctest run, which trains one
# tokenizer.json per style and component, converts the real vocabularies and records the
# libraries' encodings of a corpus; the tests compare.
add_test(NAME hf_tokenizers_reference
         COMMAND ${FLYWHEEL_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/parity/hf_tokenizers_reference.py
                 ${CMAKE_BINARY_DIR}/hf-tokenizers-ref)
set_tests_properties(hf_tokenizers_reference PROPERTIES
  FIXTURES_SETUP hf_tokenizers_reference LABELS parity TIMEOUT 600
  ENVIRONMENT "HF_HUB_OFFLINE=1;OMP_NUM_THREADS=1")
fw_add_test(test_hf_tokenizers_parity
  SOURCES parity/test_hf_tokenizers_parity.cpp
  LIBS fw_data
  LABELS parity
  FIXTURES hf_tokenizers_reference)

# `flywheel template` / `flywheel tokenize` on tokenizer-only folders against transformers'
# apply_chat_template (text, ids, assistant masks): tests/parity/template_cli_reference.py.
fw_add_test(test_template_cli
  SOURCES parity/test_template_cli.cpp
  LIBS fw_core
  LABELS parity
  TIMEOUT 600)
