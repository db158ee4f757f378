# Third-party dependencies: LibTorch from the bootstrap venv (or LIBTORCH_DIR /
# CMAKE_PREFIX_PATH), the rest from Debian's packages.
if(DEFINED ENV{LIBTORCH_DIR} AND NOT "$ENV{LIBTORCH_DIR}" STREQUAL "")
  list(PREPEND CMAKE_PREFIX_PATH "$ENV{LIBTORCH_DIR}")
endif()
if(FLYWHEEL_TORCH_PREFIX)
  list(PREPEND CMAKE_PREFIX_PATH "${FLYWHEEL_TORCH_PREFIX}")
endif()

# The CUDA wheel's TorchConfig looks for the CUDA toolkit; without one we still build for
# CPU (torch_cpu), and CUDA tensors are simply unavailable at run time.
# It would also compile and run a GPU probe; naming the architectures skips that (we
# compile no CUDA code of our own, so the list only silences the probe).
if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(ENV{TORCH_CUDA_ARCH_LIST} "8.0;9.0")
endif()
find_package(Torch REQUIRED)
message(STATUS "LibTorch ${Torch_VERSION} from ${Torch_DIR}")

find_package(nlohmann_json 3.10 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(GTest REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
# data/tokenizers (tokenizer.json): PCRE2 for the pre-tokenizer regexes, ICU for Unicode
# normalization and character properties.
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)
find_package(Threads REQUIRED)
# HTTP: libcurl for the OpenAI-compatible client (rollout/openai_client), cpp-httplib for
# `flywheel serve` (arena/openai_server) and the client's tests. Debian builds httplib as a
# library with OpenSSL/zlib/brotli on; its pkg-config flags must travel with the header.
find_package(CURL REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)

# Torch's compile flags (ABI define etc.) travel with this interface target.
# libtorch.so from the PyPI wheel exports its own (newer) copy of std::filesystem; if it
# comes before libstdc++ in the search order our calls bind to it and crash
# (remove_all segfaults). Naming libstdc++ first on the link line makes it the first
# DT_NEEDED library, so the system copy wins.
#
# The programs link LibTorch's CPU library only (torch_cpu_library, c10), not ${TORCH_LIBRARIES}:
# the CUDA library takes 0.4 s and 350 MB to load, which every command and test process on
# a machine without a GPU would pay for nothing. fw_cuda_runtime (core/cuda_runtime.h), a
# small shared library every program links, loads it before main() where an NVIDIA driver
# is; libfw_nccl.so (dist/nccl_backend.h) holds the one piece that links it. The compile
# definitions stay LibTorch's full set (USE_C10D_NCCL, ...), which only shape headers.
add_library(fw_torch INTERFACE)
target_link_options(fw_torch INTERFACE "LINKER:--push-state,--no-as-needed" "-lstdc++" "LINKER:--pop-state")
target_link_libraries(fw_torch INTERFACE torch_cpu_library c10 fw_cuda_runtime)
# Nothing calls into fw_cuda_runtime (its work is its constructor), and LibTorch's link
# flags leave --as-needed on, which would drop it: name it again with --no-as-needed.
# (tests/unit/core.cmake's cuda_runtime_linked checks every program keeps it.)
# (One option: CMake folds repeated link options, so a separate --push-state would merge
# with the one above.)
target_link_options(fw_torch INTERFACE "LINKER:--push-state,--no-as-needed,$<TARGET_FILE:fw_cuda_runtime>,--pop-state")
if(TARGET torch_cuda)
  target_compile_definitions(fw_torch INTERFACE $<TARGET_PROPERTY:torch_cuda,INTERFACE_COMPILE_DEFINITIONS>)
endif()
target_compile_options(fw_torch INTERFACE $<TARGET_PROPERTY:torch,INTERFACE_COMPILE_OPTIONS>)
target_include_directories(fw_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})

# at::parallel_for's OpenMP region is compiled into the calling file, so without -fopenmp
# there it runs on one thread. The few files that need it (fw_openmp_sources) build with
# -fopenmp and link torch's own libgomp, so one OpenMP runtime serves the process. Without
# OpenMP or that library they build as before and run serially.
find_package(OpenMP COMPONENTS CXX)
file(GLOB FW_TORCH_GOMP "${TORCH_INSTALL_PREFIX}/lib/libgomp*.so*")
add_library(fw_openmp INTERFACE)
set(FW_OPENMP_FLAGS "")
if(OpenMP_CXX_FOUND AND FW_TORCH_GOMP)
  list(GET FW_TORCH_GOMP 0 FW_TORCH_GOMP)
  target_link_libraries(fw_openmp INTERFACE ${FW_TORCH_GOMP})
  set(FW_OPENMP_FLAGS ${OpenMP_CXX_FLAGS})
  message(STATUS "OpenMP for at::parallel_for callers: ${FW_OPENMP_FLAGS}, ${FW_TORCH_GOMP}")
endif()

# The bootstrap venv's Python: the parity tests run transformers from it.
set(FLYWHEEL_PYTHON "$ENV{HOME}/.cache/flywheel/venv/bin/python" CACHE FILEPATH
    "Python with torch and transformers, for the parity tests and benchmarks")
