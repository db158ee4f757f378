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
  FIXTURES hf_reference
  ENV "FW_PARITY_DIR=${FW_PARITY_DIR}")

# Parity with TRL's DPO and reward-model losses: tests/parity/trl_losses.py calls the
# installed TRL's own loss code on fixed log-probs (once per ctest run, as a fixture; the
# test binary run by hand runs the script itself), and the C++ test compares.
set(FW_TRL_LOSSES_JSON ${CMAKE_BINARY_DIR}/parity-ref/trl_losses.json)
add_test(NAME trl_losses_reference
         COMMAND ${FLYWHEEL_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/parity/trl_losses.py ${FW_TRL_LOSSES_JSON})
set_tests_properties(trl_losses_reference PROPERTIES
  FIXTURES_SETUP trl_losses LABELS parity TIMEOUT 300
  ENVIRONMENT "HF_HUB_OFFLINE=1;OMP_NUM_THREADS=1")
fw_add_test(test_trl_losses TORCH
  SOURCES parity/test_trl_losses.cpp
  LIBS fw_losses
  LABELS parity
  FIXTURES trl_losses
  ENV "FW_TRL_LOSSES_JSON=${FW_TRL_LOSSES_JSON}")
