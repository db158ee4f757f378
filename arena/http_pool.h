// cpp-httplib's connection threads, grown on demand: a connection is served by an idle
// thread, or by a new one while fewer than max_threads exist, and queued only beyond
// that. httplib's own fixed pool lets as many stalled sockets as it has threads (a client
// that connects and never finishes its request holds one until the read timeout) delay
// every request behind them; here they cost a sleeping thread each.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fw::arena {

class ElasticThreadPool : public httplib::TaskQueue {
 public:
  explicit ElasticThreadPool(size_t max_threads) : max_threads_(max_threads) {}
  ~ElasticThreadPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;  // runs the queued connections, then joins every thread
  size_t threads() const;

 private:
  void run();
  const size_t max_threads_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace fw::arena
