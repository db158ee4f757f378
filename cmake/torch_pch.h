// The precompiled header: the parts of LibTorch our sources use. torch/torch.h is not
// included anywhere (it pulls in far more than we need).
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/serialize.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>
