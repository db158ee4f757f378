# The layering check (cmake/layering.cmake, cmake/check_layering.py): it passes on the
# real tree, and on a copy of the tree with a deliberately forbidden include, or a link
# cmake/layering_allowed.txt forbids, it fails naming the file and line. Plain Python, no build outputs needed but the graph written at
# configure time; a second or two each.
add_test(NAME layering_real_tree
  COMMAND ${FW_LAYERING_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/layering/test_layering.py real
          --checker ${FW_LAYERING_SCRIPT} --graph ${FW_LAYERING_GRAPH} --root ${CMAKE_SOURCE_DIR})
add_test(NAME layering_forbidden_include_fails
  COMMAND ${FW_LAYERING_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/layering/test_layering.py fixture
          --checker ${FW_LAYERING_SCRIPT} --graph ${FW_LAYERING_GRAPH} --root ${CMAKE_SOURCE_DIR}
          --tmp ${FW_TEST_TMP_DIR}/layering)
set_tests_properties(layering_real_tree layering_forbidden_include_fails
  PROPERTIES LABELS unit TIMEOUT 60)
