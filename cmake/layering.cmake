# Layering enforced by the build (DESIGN.md §2): every link a library declares to another
# library of the tree must go the allowed way (the table cmake/layering_allowed.txt), and
# every #include of a project file must name a header of a library the including target may
# see — itself, what it links, and what those pass on PUBLIC — as CMake propagates it.
# cmake/check_layering.py does both; this file writes the declared graph for it and runs it
# in every build.
#
# fw_layering_check(), called once at the end of the top-level CMakeLists.txt (when every
# target and link is declared), writes ${CMAKE_BINARY_DIR}/layering/graph.txt — for each
# static library and executable of the tree: its type, its CMake folder and sources
# (relative to the source root), what it links (LINK_LIBRARIES) and what it passes on
# (INTERFACE_LINK_LIBRARIES) — and adds the target fw_layering (in ALL), whose command runs
# the check. The check writes a depfile naming every file it read, so it reruns when a
# source, a header, a CMake file, the graph, the table or the script changes. A forbidden
# link fails the build with "<dir>/CMakeLists.txt:line: fw_a links fw_b, which
# cmake/layering_allowed.txt does not allow (<rule>; ...)", a forbidden include with
# "file:line: #include ...: <target> does not depend on <library> ...".

# The interpreter (the bootstrap venv's, else any Python 3: the check needs only the
# standard library) and the graph's path, for the check and for its test
# (tests/layering/layering.cmake).
if(FLYWHEEL_PYTHON AND EXISTS "${FLYWHEEL_PYTHON}")
  set(FW_LAYERING_PYTHON ${FLYWHEEL_PYTHON})
else()
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  set(FW_LAYERING_PYTHON ${Python3_EXECUTABLE})
endif()
set(FW_LAYERING_GRAPH ${CMAKE_BINARY_DIR}/layering/graph.txt)
set(FW_LAYERING_SCRIPT ${CMAKE_SOURCE_DIR}/cmake/check_layering.py)
set(FW_LAYERING_ALLOWED ${CMAKE_SOURCE_DIR}/cmake/layering_allowed.txt)

# Every target declared in DIR and its sub-directories.
function(_fw_layering_targets dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub ${subdirs})
    _fw_layering_targets(${sub} sub_targets)
    list(APPEND targets ${sub_targets})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

function(fw_layering_check)
  _fw_layering_targets(${CMAKE_SOURCE_DIR} targets)
  set(text "# written by cmake/layering.cmake (fw_layering_check); read by cmake/check_layering.py\n")
  foreach(target ${targets})
    get_target_property(type ${target} TYPE)
    if(NOT type STREQUAL "STATIC_LIBRARY" AND NOT type STREQUAL "EXECUTABLE")
      continue()
    endif()
    get_target_property(dir ${target} SOURCE_DIR)
    get_target_property(sources ${target} SOURCES)
    get_target_property(links ${target} LINK_LIBRARIES)
    get_target_property(passes ${target} INTERFACE_LINK_LIBRARIES)
    string(APPEND text "target ${target} ${type}\n")
    cmake_path(RELATIVE_PATH dir BASE_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE rel_dir)
    if(rel_dir STREQUAL "")
      set(rel_dir ".")
    endif()
    string(APPEND text "dir ${rel_dir}\n")
    foreach(source ${sources})
      if(source MATCHES "^\\$<")  # generator expressions: none of ours
        continue()
      endif()
      cmake_path(ABSOLUTE_PATH source BASE_DIRECTORY ${dir} NORMALIZE OUTPUT_VARIABLE abs)
      cmake_path(IS_PREFIX CMAKE_SOURCE_DIR ${abs} NORMALIZE inside)
      if(inside)
        cmake_path(RELATIVE_PATH abs BASE_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE rel)
        string(APPEND text "source ${rel}\n")
      endif()
    endforeach()
    foreach(link ${links})
      if(TARGET ${link})
        string(APPEND text "link ${link}\n")
      endif()
    endforeach()
    foreach(link ${passes})  # PRIVATE links of a static library appear as $<LINK_ONLY:x>
      if(TARGET ${link})
        string(APPEND text "public ${link}\n")
      endif()
    endforeach()
  endforeach()

  # Rewritten only when the graph changed, so an unchanged reconfigure does not rerun it.
  set(graph ${FW_LAYERING_GRAPH})
  file(WRITE ${graph}.tmp "${text}")
  configure_file(${graph}.tmp ${graph} COPYONLY)

  set(stamp ${CMAKE_BINARY_DIR}/layering/checked.stamp)
  set(depfile ${CMAKE_BINARY_DIR}/layering/checked.d)
  set(script ${FW_LAYERING_SCRIPT})
  add_custom_command(
    OUTPUT ${stamp}
    COMMAND ${FW_LAYERING_PYTHON} ${script} --root ${CMAKE_SOURCE_DIR} --graph ${graph}
            --allowed ${FW_LAYERING_ALLOWED} --depfile ${depfile} --stamp ${stamp}
    DEPENDS ${script} ${graph} ${FW_LAYERING_ALLOWED}
    DEPFILE ${depfile}
    COMMENT "Checking the library links against cmake/layering_allowed.txt and every #include against them (layering)"
    VERBATIM)
  add_custom_target(fw_layering ALL DEPENDS ${stamp})
endfunction()
