// Embedding matrices and the helpers around them (see embeddings.h).
#include "arena/embeddings.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <thread>

namespace fw::arena {

float dot(const float* a, const float* b, int64_t dim) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= dim; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += a[i + l] * b[i + l];
  for (; i < dim; ++i) acc[0] += a[i] * b[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

void l2_normalize_rows(Embeddings& e) {
  for (int64_t r = 0; r < e.rows; ++r) {
    float* v = e.row(r);
    double ss = 0;
    for (int64_t i = 0; i < e.dim; ++i) ss += static_cast<double>(v[i]) * v[i];
    if (ss <= 0) continue;
    const double inv = 1.0 / std::sqrt(ss);
    for (int64_t i = 0; i < e.dim; ++i) v[i] = static_cast<float>(v[i] * inv);
  }
}

std::string prompt_text(const std::vector<data::Message>& messages) {
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i) out += '\n';
    out += messages[i].content;
  }
  return out;
}

EmbedFn cached_embed_fn(EmbedFn inner) {
  struct Cache {
    std::unordered_map<std::string, std::vector<float>> rows;
    int64_t dim = -1;
  };
  auto cache = std::make_shared<Cache>();
  return [inner = std::move(inner), cache](const std::vector<std::vector<data::Message>>& prompts) {
    auto key = [](const std::vector<data::Message>& m) {
      std::string k;
      for (const auto& msg : m) {
        k += msg.role;
        k += '\0';
        k += msg.content;
        k += '\0';
      }
      return k;
    };
    std::vector<std::string> keys;
    keys.reserve(prompts.size());
    std::vector<std::vector<data::Message>> todo;
    std::unordered_map<std::string, size_t> queued;
    for (const auto& p : prompts) {
      keys.push_back(key(p));
      if (!cache->rows.count(keys.back()) && queued.emplace(keys.back(), todo.size()).second) todo.push_back(p);
    }
    if (!todo.empty()) {
      const Embeddings fresh = inner(todo);
      cache->dim = fresh.dim;
      for (const auto& [k, i] : queued)
        cache->rows.emplace(k, std::vector<float>(fresh.row(static_cast<int64_t>(i)),
                                                  fresh.row(static_cast<int64_t>(i)) + fresh.dim));
    }
    Embeddings out(static_cast<int64_t>(prompts.size()), std::max<int64_t>(cache->dim, 0));
    for (size_t i = 0; i < prompts.size(); ++i) {
      const auto& row = cache->rows.at(keys[i]);
      std::copy(row.begin(), row.end(), out.row(static_cast<int64_t>(i)));
    }
    return out;
  };
}

int resolve_threads(int threads) {
  if (threads > 0) return threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

void parallel_for(int64_t n, int threads, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  const int64_t t = std::min<int64_t>(resolve_threads(threads), n);
  if (t == 1) {
    fn(0, n);
    return;
  }
  std::exception_ptr error;
  std::mutex error_mutex;
  auto guarded = [&](int64_t b, int64_t e) {
    try {
      fn(b, e);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  const int64_t chunk = (n + t - 1) / t;
  for (int64_t k = 1; k < t; ++k) {
    const int64_t b = k * chunk, e = std::min(n, b + chunk);
    if (b < e) pool.emplace_back(guarded, b, e);
  }
  guarded(0, std::min(n, chunk));
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace fw::arena
