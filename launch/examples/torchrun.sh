#!/bin/sh
# The same job under torchrun (the binaries need no Python; --no-python runs them as they are):
#   launch/examples/torchrun.sh configs/sft/tiny.yaml 2
set -eu
RECIPE=${1:?usage: torchrun.sh RECIPE.yaml [NPROC]}
exec torchrun --no-python --nproc-per-node "${2:-2}" build/bin/flywheel sft "$RECIPE"
