# The README's commands. Every target first runs scripts/bootstrap.sh (idempotent).
#   make build     configure + build (RelWithDebInfo, ccache, precompiled torch header)
#   make test      build + every test except those labelled slow
#   make test-all  build + every test
#   make bench     the side-by-side benchmarks (bench/README.md)
#   make demo      build + the whole flywheel on the embedded default (configs/flywheel/tiny.yaml)
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: build test test-all bench demo bootstrap clean

bootstrap:
	@scripts/bootstrap.sh > $(BUILD_DIR).venv-path.tmp && mkdir -p $(BUILD_DIR) && mv $(BUILD_DIR).venv-path.tmp $(BUILD_DIR)/venv-path

build: bootstrap
	@venv=$$(cat $(BUILD_DIR)/venv-path); \
	prefix=$${LIBTORCH_DIR:-$$($$venv/bin/python -c 'import torch; print(torch.utils.cmake_prefix_path)')}; \
	if [ ! -f $(BUILD_DIR)/build.ninja ]; then \
	  cmake -S . -B $(BUILD_DIR) -G Ninja -DFLYWHEEL_TORCH_PREFIX=$$prefix \
	    -DFLYWHEEL_PYTHON=$$venv/bin/python $(CMAKE_ARGS) ; \
	fi && cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 ctest --output-on-failure -j $(JOBS) -LE slow

test-all: build
	cd $(BUILD_DIR) && HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 ctest --output-on-failure -j $(JOBS)

# The synthetic domain first (once), then `flywheel run`; rerunning resumes or, when the
# run is complete, just prints where the report is.
demo: build
	@test -f runs/synth/train.jsonl || $(BUILD_DIR)/bin/flywheel synth --out runs/synth --n 12000 --seed 1 \
	  --max-difficulty 1 --heldout-by problem
	$(BUILD_DIR)/bin/flywheel run configs/flywheel/tiny.yaml

bench: build
	bench/run_all.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
