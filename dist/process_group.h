// The collectives a data-parallel run needs, over LibTorch's c10d process groups: Gloo
// for CPU tensors, NCCL for CUDA tensors. The rendezvous is a c10d TCPStore at
// MASTER_ADDR:MASTER_PORT (hosted by rank 0, or by torchrun's agent). A one-process world
// is a real group too: every collective is then a no-op, so recipes call them
// unconditionally.
//
// c10d's headers stay inside process_group.cpp (they are heavy and need gloo's headers);
// this header is all the recipes see. Collectives are synchronous unless they return a
// PendingWork. A peer that died or hangs past the timeout makes the next collective throw
// fw::Error (Runtime) naming the operation: the run stops instead of hanging.
#pragma once

#include <ATen/Tensor.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dist/env.h"

namespace fw::dist {

struct GroupOptions {
  std::chrono::milliseconds timeout = std::chrono::minutes(30);  // rendezvous and every collective
  std::string backend = "auto";  // auto (nccl on CUDA, gloo on CPU) | gloo | nccl
};

// An asynchronous collective in flight.
class PendingWork {
 public:
  virtual ~PendingWork() = default;
  virtual void wait() = 0;  // throws fw::Error (Runtime) if the collective failed
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;

  // The group of this process's run: rendezvous at env's store (a no-op world of one when
  // env is not distributed). `device` is where the tensors live (NCCL for CUDA).
  static std::shared_ptr<ProcessGroup> create(const DistEnv& env, at::Device device, const GroupOptions& opts = {});
  // A world of one.
  static std::shared_ptr<ProcessGroup> single();
  // `world_size` groups in one process, one per thread, over an in-memory store (tests):
  // call from `world_size` threads at once with the same `name`, each with its rank.
  static std::shared_ptr<ProcessGroup> in_process(const std::string& name, int rank, int world_size,
                                                  const GroupOptions& opts = {});

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual at::Device device() const = 0;  // where its tensors must live (CUDA for NCCL)
  bool distributed() const { return world_size() > 1; }

  // In place. Every rank must call each collective in the same order.
  virtual void broadcast(std::vector<at::Tensor>& tensors, int root) = 0;
  virtual void all_reduce_sum(std::vector<at::Tensor>& tensors) = 0;
  virtual std::unique_ptr<PendingWork> all_reduce_sum_async(at::Tensor& tensor) = 0;
  // Every rank's `tensor` (same shape on all), stacked along a new first dimension.
  virtual at::Tensor all_gather(const at::Tensor& tensor) = 0;
  virtual void barrier() = 0;
};

// Small helpers on top (tensors made on the group's device): sums and maxima of doubles
// (metrics, token counts, flags), and one rank's string.
std::vector<double> all_reduce_sum(ProcessGroup& pg, std::vector<double> values);
double all_reduce_sum(ProcessGroup& pg, double value);
double all_reduce_max(ProcessGroup& pg, double value);
std::string broadcast_string(ProcessGroup& pg, const std::string& value, int root);

}  // namespace fw::dist
