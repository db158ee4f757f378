# fw_add_library(NAME SOURCES ... [TORCH] [DEPS ...] [PUBLIC_DEPS ...])
# A static library for one folder, named fw_<NAME>. TORCH links LibTorch and reuses the
# precompiled torch header, so only folders that need torch pay for it.
set(FW_PCH_HEADER ${CMAKE_SOURCE_DIR}/cmake/torch_pch.h)

# The same flags on every target, so the shared precompiled header stays valid for all.
function(fw_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
endfunction()

function(fw_add_library name)
  cmake_parse_arguments(ARG "TORCH" "" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(fw_${name} STATIC ${ARG_SOURCES})
  target_include_directories(fw_${name} PUBLIC ${CMAKE_SOURCE_DIR})
  fw_warnings(fw_${name})
  target_link_libraries(fw_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_DEPS})
  if(ARG_TORCH)
    target_link_libraries(fw_${name} PUBLIC fw_torch)
    fw_use_torch_pch(fw_${name})
  endif()
endfunction()

# One precompiled header shared by every torch-using target (built once, reused).
function(fw_use_torch_pch target)
  if(NOT FLYWHEEL_PCH)
    return()
  endif()
  if(NOT TARGET fw_pch)
    add_library(fw_pch STATIC ${CMAKE_SOURCE_DIR}/cmake/torch_pch.cpp)
    target_link_libraries(fw_pch PUBLIC fw_torch)
    fw_warnings(fw_pch)
    target_precompile_headers(fw_pch PRIVATE ${FW_PCH_HEADER})
  endif()
  target_precompile_headers(${target} REUSE_FROM fw_pch)
endfunction()

# fw_openmp_sources(TARGET FILE...): these files of TARGET call at::parallel_for; they build
# with OpenMP (see fw_openmp in deps.cmake), without the shared precompiled header, whose
# flags would no longer match.
function(fw_openmp_sources target)
  if(FW_OPENMP_FLAGS)
    set_source_files_properties(${ARGN} PROPERTIES
      COMPILE_OPTIONS "${FW_OPENMP_FLAGS}" SKIP_PRECOMPILE_HEADERS ON)
  endif()
  target_link_libraries(${target} PUBLIC fw_openmp)
endfunction()
