#include "dist/process_group.h"

#include <atomic>

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <dlfcn.h>

#include <cstdlib>
#include <map>
#include <mutex>

#include "core/cuda_runtime.h"
#include "core/error.h"
#include "dist/nccl_backend.h"

namespace fw::dist {
namespace {

const char* const kPeerHint =
    "another rank died, hung past the timeout or was never started; see the other ranks' output";

// Runs a c10d call, turning its exceptions into fw::Error naming the operation.
template <class Fn>
auto guarded(const std::string& what, Fn fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw_runtime(what + " failed: " + e.what_without_backtrace(), {.hint = kPeerHint});
  } catch (const std::exception& e) {
    throw_runtime(what + " failed: " + e.what(), {.hint = kPeerHint});
  }
}

class C10dWork final : public PendingWork {
 public:
  C10dWork(c10::intrusive_ptr<c10d::Work> w, std::string what) : work_(std::move(w)), what_(std::move(what)) {}
  void wait() override {
    guarded(what_, [&] { return work_->wait(); });
  }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
  std::string what_;
};

class DoneWork final : public PendingWork {
 public:
  void wait() override {}
};

// A world of one: nothing to communicate.
class SingleGroup final : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  at::Device device() const override { return at::kCPU; }
  void broadcast(std::vector<at::Tensor>&, int) override {}
  void all_reduce_sum(std::vector<at::Tensor>&) override {}
  std::unique_ptr<PendingWork> all_reduce_sum_async(at::Tensor&) override { return std::make_unique<DoneWork>(); }
  at::Tensor all_gather(const at::Tensor& t) override { return t.unsqueeze(0).clone(); }
  void barrier() override {}
};

class C10dGroup final : public ProcessGroup {
 public:
  C10dGroup(c10::intrusive_ptr<c10d::Backend> backend, c10::intrusive_ptr<c10d::Store> store, int rank, int world,
            at::Device device)
      : backend_(std::move(backend)), store_(std::move(store)), rank_(rank), world_(world), device_(device) {}
  ~C10dGroup() override {
    try {
      backend_->shutdown();
    } catch (...) {  // a failed peer must not turn a clean exit into a crash
    }
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  at::Device device() const override { return device_; }

  void broadcast(std::vector<at::Tensor>& tensors, int root) override {
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      c10d::BroadcastOptions o;
      o.rootRank = root;
      guarded("broadcast", [&] { return backend_->broadcast(one, o)->wait(); });
    }
  }

  void all_reduce_sum(std::vector<at::Tensor>& tensors) override {
    for (auto& t : tensors) all_reduce_sum_async(t)->wait();
  }

  std::unique_ptr<PendingWork> all_reduce_sum_async(at::Tensor& tensor) override {
    std::vector<at::Tensor> one{tensor};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    return std::make_unique<C10dWork>(guarded("all_reduce", [&] { return backend_->allreduce(one, o); }), "all_reduce");
  }

  at::Tensor all_gather(const at::Tensor& tensor) override {
    at::Tensor in = tensor.contiguous().view({-1});
    at::Tensor out = at::empty({world_ * in.numel()}, in.options());
    guarded("all_gather", [&] { return backend_->_allgather_base(out, in)->wait(); });
    std::vector<int64_t> shape{world_};
    for (int64_t s : tensor.sizes()) shape.push_back(s);
    return out.view(shape);
  }

  void barrier() override {
    guarded("barrier", [&] { return backend_->barrier()->wait(); });
  }

 private:
  c10::intrusive_ptr<c10d::Backend> backend_;
  c10::intrusive_ptr<c10d::Store> store_;
  int rank_, world_;
  at::Device device_;
};

c10::intrusive_ptr<c10d::Backend> make_gloo(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world,
                                            const GroupOptions& opts, bool loopback) {
  auto o = c10d::ProcessGroupGloo::Options::create(opts.timeout);
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");  // as PyTorch: which interface to use
  if (loopback)
    o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  else if (ifname && *ifname)
    o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
  else
    o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  o->threads = 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>("gloo", store), rank,
                                                     world, o);
}

// ProcessGroupNCCL from libfw_nccl.so (nccl_backend.h), opened on first use.
c10::intrusive_ptr<c10d::Backend> make_nccl(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world,
                                            const GroupOptions& opts, at::Device device) {
  static MakeNcclBackend* make = [] {
    if (!cuda_runtime_loaded())
      throw_invalid("the NCCL backend needs LibTorch's CUDA library: " + cuda_runtime_note(), {.key = "backend"});
    std::string error;
    void* lib = open_flywheel_library(kNcclLibrary, error);
    if (!lib) throw_invalid("cannot open flywheel's NCCL library: " + error, {.key = "backend", .hint = "use gloo"});
    auto* fn = reinterpret_cast<MakeNcclBackend*>(dlsym(lib, kMakeNcclSymbol));
    if (!fn) throw_invalid(std::string(kNcclLibrary) + " lacks " + kMakeNcclSymbol, {.key = "backend"});
    return fn;
  }();
  return make(store, rank, world, opts.timeout, device.index());
}

std::string resolve_backend(const std::string& backend, at::Device device) {
  if (backend == "auto") return device.is_cuda() ? "nccl" : "gloo";
  if (backend != "gloo" && backend != "nccl")
    throw_invalid("unknown process-group backend '" + backend + "'", {.key = "backend", .hint = "auto, gloo or nccl"});
  return backend;
}

}  // namespace

std::shared_ptr<ProcessGroup> ProcessGroup::single() { return std::make_shared<SingleGroup>(); }

std::shared_ptr<ProcessGroup> ProcessGroup::create(const DistEnv& env, at::Device device, const GroupOptions& opts) {
  if (!env.distributed()) return single();
  const std::string backend = resolve_backend(opts.backend, device);
  if (backend == "nccl" && !device.is_cuda())
    throw_invalid("the NCCL backend needs CUDA tensors; this run is on " + device.str(), {.key = "backend"});
  // torchrun's agent already serves the store at MASTER_ADDR:MASTER_PORT; otherwise rank
  // 0 serves it and waits for every rank to connect.
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(env.master_port);
  so.isServer = !env.agent_store && env.rank == 0;
  so.numWorkers = env.world_size;
  so.waitWorkers = true;
  so.timeout = opts.timeout;
  const std::string where = "rendezvous with " + std::to_string(env.world_size) + " ranks at " + env.master_addr +
                            ":" + std::to_string(env.master_port);
  // One store per process, kept for its lifetime: a process may make several groups in
  // turn (the flywheel runs one trainer after another), and a rank that reaches the next
  // group first must find rank 0's store alive, not one being torn down with the last
  // group. (Deliberately never freed: the process's end closes it.)
  struct StoreHolder {
    std::mutex mutex;
    c10::intrusive_ptr<c10d::TCPStore> tcp;
    std::string addr;
    int port = -1;
  };
  static auto* held = new StoreHolder;
  c10::intrusive_ptr<c10d::TCPStore> tcp;
  {
    std::lock_guard<std::mutex> lock(held->mutex);
    if (!held->tcp || held->addr != env.master_addr || held->port != env.master_port) {
      held->tcp = guarded(where, [&] { return c10::make_intrusive<c10d::TCPStore>(env.master_addr, so); });
      held->addr = env.master_addr;
      held->port = env.master_port;
    } else {
      held->tcp->setTimeout(opts.timeout);
    }
    tcp = held->tcp;
  }
  // The agent's store outlives restarts and holds the agent's own keys: namespace ours,
  // per restart and per group (every rank makes its groups in the same order).
  static std::atomic<int> groups_made{0};
  const int group = groups_made++;
  c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::PrefixStore>(
      "flywheel/attempt_" + std::to_string(env.restart_count) + (group ? "/group_" + std::to_string(group) : ""), tcp);
  auto b = guarded("creating the " + backend + " process group", [&] {
    return backend == "nccl" ? make_nccl(store, env.rank, env.world_size, opts, device)
                             : make_gloo(store, env.rank, env.world_size, opts, /*loopback=*/false);
  });
  return std::make_shared<C10dGroup>(b, store, env.rank, env.world_size, backend == "nccl" ? device : at::kCPU);
}

std::shared_ptr<ProcessGroup> ProcessGroup::in_process(const std::string& name, int rank, int world_size,
                                                       const GroupOptions& opts) {
  if (world_size == 1) return single();
  static std::mutex mutex;
  static std::map<std::string, c10::intrusive_ptr<c10d::Store>> stores;
  c10::intrusive_ptr<c10d::Store> store;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto& s = stores[name];
    if (!s) s = c10::make_intrusive<c10d::HashStore>();
    store = s;
  }
  auto b = guarded("creating an in-process gloo group", [&] {
    return make_gloo(store, rank, world_size, opts, /*loopback=*/true);
  });
  return std::make_shared<C10dGroup>(b, store, rank, world_size, at::kCPU);
}

std::vector<double> all_reduce_sum(ProcessGroup& pg, std::vector<double> values) {
  if (!pg.distributed() || values.empty()) return values;
  at::Tensor t = at::tensor(values, at::kDouble).to(pg.device());
  std::vector<at::Tensor> v{t};
  pg.all_reduce_sum(v);
  t = t.cpu();
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

double all_reduce_sum(ProcessGroup& pg, double value) { return all_reduce_sum(pg, std::vector<double>{value})[0]; }

double all_reduce_max(ProcessGroup& pg, double value) {
  if (!pg.distributed()) return value;
  return pg.all_gather(at::tensor({value}, at::kDouble).to(pg.device())).max().item<double>();
}

std::string broadcast_string(ProcessGroup& pg, const std::string& value, int root) {
  if (!pg.distributed()) return value;
  const auto on_device = at::TensorOptions().device(pg.device());
  at::Tensor size = at::tensor({static_cast<int64_t>(value.size())}, on_device.dtype(at::kLong));
  std::vector<at::Tensor> v{size};
  pg.broadcast(v, root);
  const int64_t n = size.item<int64_t>();
  if (n == 0) return "";
  at::Tensor bytes = at::zeros({n}, at::kByte);
  if (pg.rank() == root) std::copy(value.begin(), value.end(), bytes.data_ptr<uint8_t>());
  bytes = bytes.to(pg.device());
  std::vector<at::Tensor> b{bytes};
  pg.broadcast(b, root);
  bytes = bytes.cpu();
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), static_cast<size_t>(n));
}

}  // namespace fw::dist
