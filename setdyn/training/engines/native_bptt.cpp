// Loss and gradients of the a = 1 CT-RNN for one minibatch, in one call: the kernel of
// setdyn.training.engines.native.
//
// The same computation as setdyn.training.engines.bptt.loss_and_grads (read its docstring for the
// equations), with
// the element-wise work of each step fused into one pass over the step's batch x N block, next to
// the step's matrix product:
//   forward,  step t:  P = r_{t-1} J^T (product),  then one pass: r_t = tanh(P + eta_t + table[code_t])
//                      (table row = B u + b), and the sum of r_t^2 (penalty);
//   backward, step t:  G = g_{t+1} J (product),  then one pass: g_t = (1 - r_t^2) (G + k r_t + dz_t W)
//                      (dz only on the scored last steps), summed per input code (for B and b);
// and dJ = sum_t g_t^T r_{t-1} on a second thread, in products over chunks of steps as the backward
// loop makes them. Matrix products go through MKL (inside PyTorch). tanh in
// float32 is a rational approximation (Eigen's; at most 3.5e-7 from tanh, about 3 float32 ulp
// near +-1) that vectorises inside the pass; in float64 it is std::tanh. Deterministic (the second
// thread adds the chunks to dJ in a fixed order).
//
// Also: the noise-free forward pass for evaluation (final_outputs) and a fast normal generator
// (fill_normal). Every entry point runs without the GIL.
#include <torch/extension.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

// BLAS (MKL, inside PyTorch's library), called on raw memory: column-major, Fortran interface.
extern "C" {
void sgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const float* alpha, const float* a,
            const int* lda, const float* b, const int* ldb, const float* beta, float* c, const int* ldc);
void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc);
int MKL_Set_Num_Threads_Local(int n);  // the C interface (by value)
}

namespace {

inline void gemm(char ta, char tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                 float beta, float* c, int ldc) {
  sgemm_(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
}
inline void gemm(char ta, char tb, int m, int n, int k, double alpha, const double* a, int lda, const double* b,
                 int ldb, double beta, double* c, int ldc) {
  dgemm_(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
}

// dJ (n x n, row-major) += g^T r for contiguous row-major (nrows x n) blocks g and r, as column-major BLAS
// sees them. Called on the second thread: raw BLAS, no PyTorch dispatch.
template <typename T>
void add_gT_r(const T* g, const T* r, T* dJ, int nrows, int n) {
  gemm('N', 'T', n, n, nrows, T(1), r, n, g, n, T(1), dJ, n);
}

// tanh: float32 by a rational approximation that vectorises; float64 exactly.
inline float tanh_of(float x) {
  const float c = 7.90531110763549805f;  // beyond this, the approximation is +-1 to float32 precision
  const float xc = std::min(std::max(x, -c), c);
  const float x2 = xc * xc;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  const float r = xc * p / q;
  return std::abs(x) < 0.0004f ? x : r;
}
inline double tanh_of(double x) { return std::tanh(x); }

template <typename T>
std::vector<at::Tensor> run(at::Tensor R, const at::Tensor& xi, const at::Tensor& codes, const at::Tensor& colors,
                            const at::Tensor& B, const at::Tensor& b, const at::Tensor& J, const at::Tensor& W,
                            const at::Tensor& b_out_t, const at::Tensor& x0, const at::Tensor& targets,
                            double penalty, int64_t keep, double clip, double threshold, at::Tensor GH) {
  const int64_t steps = R.size(0) - 1, nb = R.size(1), n = R.size(2), blk = nb * n;
  // B u + b for the codes green, purple, red and (row 3) none
  const at::Tensor table = at::cat({at::mm(colors, B.t()), at::zeros({1, n}, R.options())}) + b;
  const double b_out = b_out_t.item<double>();
  const at::Tensor tcodes = codes.t().contiguous();  // steps x batch
  T* r = R.data_ptr<T>();
  T* gh = GH.data_ptr<T>();
  const T* tb = table.data_ptr<T>();
  const int64_t* code = tcodes.data_ptr<int64_t>();  // -1 (none) -> table row 3
  const T* w = W.data_ptr<T>();
  const T* y = targets.data_ptr<T>();
  const T* x0p = x0.data_ptr<T>();
  const T* xip = xi.data_ptr<T>();
  const auto opts = R.options();

  // r_0 = tanh(x0 + xi)
  for (int64_t i = 0; i < nb; ++i)
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) r[i * n + j] = tanh_of(x0p[j] + xip[i * n + j]);

  // forward
  const at::Tensor Jt = J.t().contiguous();
  at::Tensor tmp = at::empty({nb, n}, opts);  // one step's matrix product, kept hot in cache
  const T* tp = tmp.data_ptr<T>();
  double power = 0.0;  // sum of r^2 over all steps, units and trials
  for (int64_t t = 0; t < steps; ++t) {
    T* x = r + (t + 1) * blk;  // holds eta_t; becomes r_t
    at::mm_out(tmp, R.select(0, t), Jt);  // r_{t-1} J^T
    const int64_t* c = code + t * nb;
    T acc = 0;
    for (int64_t i = 0; i < nb; ++i) {
      const T* row = tb + ((c[i] + 4) % 4) * n;
      T* xr = x + i * n;
      const T* pr = tp + i * n;
#pragma omp simd reduction(+ : acc)
      for (int64_t j = 0; j < n; ++j) {
        const T v = tanh_of(pr[j] + xr[j] + row[j]);
        xr[j] = v;
        acc += v * v;
      }
    }
    power += acc;
  }

  // readout on the last `keep` steps, loss, dL/dz
  at::Tensor Z = at::empty({keep, nb}, opts);
  at::Tensor DZ = at::empty({keep, nb}, opts);
  T* z = Z.data_ptr<T>();
  T* dz = DZ.data_ptr<T>();
  double mse = 0.0;
  int64_t correct = 0;  // trials whose output at the last step is beyond +-threshold on the target's side
  for (int64_t q = 0; q < keep; ++q) {
    const T* rq = r + (steps - keep + q + 1) * blk;
    for (int64_t i = 0; i < nb; ++i) {
      T acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t j = 0; j < n; ++j) acc += rq[i * n + j] * w[j];
      z[q * nb + i] = acc + T(b_out);
      const T err = z[q * nb + i] - y[i];
      mse += double(err) * double(err);
      dz[q * nb + i] = err * T(2.0 / double(keep * nb));
      if (q == keep - 1) {
        const T zi = z[q * nb + i];
        const T decision = zi > T(threshold) ? T(1) : (zi < T(-threshold) ? T(-1) : T(0));
        correct += decision == y[i];
      }
    }
  }
  const double n_rates = double(steps) * double(blk);
  const double loss = mse / double(keep * nb) + penalty * power / n_rates;
  const T k = T(2.0 * penalty / n_rates);  // dL/dr from the penalty is k r

  // backward, with the per-code sums of g (for B and b) on the way
  at::Tensor gtable = at::zeros({4, n}, opts);  // sum of g per input code (green, purple, red, none)
  T* gt = gtable.data_ptr<T>();
  // dJ = sum_t g_t^T r_{t-1} on a second thread, chunk by chunk as soon as the loop below has made
  // the chunk's g: a third of the arithmetic, off the sequential path
  at::Tensor dJ = at::zeros({n, n}, opts);
  T* dJp = dJ.data_ptr<T>();
  const int64_t chunk = 5;  // steps per dJ product
  std::atomic<int64_t> made{steps};  // g_t is final for every t >= made
  std::thread dj_thread([&] {
    MKL_Set_Num_Threads_Local(1);  // a new thread would otherwise let MKL use every core
    for (int64_t hi = steps; hi > 0;) {
      const int64_t lo = std::max<int64_t>(hi - chunk, 0);
      while (made.load(std::memory_order_acquire) > lo) std::this_thread::yield();
      add_gT_r(gh + lo * blk, r + lo * blk, dJp, int((hi - lo) * nb), int(n));
      hi = lo;
    }
  });
  for (int64_t t = steps - 1; t >= 0; --t) {
    T* g = gh + t * blk;
    const T* rt = r + (t + 1) * blk;
    const int64_t* c = code + t * nb;
    const bool chained = t < steps - 1;
    if (chained) at::mm_out(tmp, GH.select(0, t + 1), J);  // g_{t+1} J
    const int64_t q = t - (steps - keep);
    for (int64_t i = 0; i < nb; ++i) {
      const T d = q >= 0 ? dz[q * nb + i] : T(0);
      const int64_t o = i * n;
      T* sum = gt + ((c[i] + 4) % 4) * n;
      if (chained) {
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) {
          const T v = rt[o + j];
          const T gv = (tp[o + j] + k * v + d * w[j]) * (T(1) - v * v);
          g[o + j] = gv;
          sum[j] += gv;
        }
      } else {
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) {
          const T v = rt[o + j];
          const T gv = (k * v + d * w[j]) * (T(1) - v * v);
          g[o + j] = gv;
          sum[j] += gv;
        }
      }
    }
    made.store(t, std::memory_order_release);
  }
  at::mm_out(tmp, GH.select(0, 0), J);  // dL/dr_0
  dj_thread.join();
  at::Tensor dx0 = at::zeros({n}, opts);
  T* dx0p = dx0.data_ptr<T>();
  for (int64_t i = 0; i < nb; ++i)
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) dx0p[j] += tp[i * n + j] * (T(1) - r[i * n + j] * r[i * n + j]);

  // weight gradients
  at::Tensor dW = at::zeros({1, n}, opts);
  T* dw = dW.data_ptr<T>();
  T db_out = 0;
  for (int64_t q = 0; q < keep; ++q) {
    const T* rq = r + (steps - keep + q + 1) * blk;
    for (int64_t i = 0; i < nb; ++i) {
      const T d = dz[q * nb + i];
      db_out += d;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) dw[j] += d * rq[i * n + j];
    }
  }
  at::Tensor dB = at::mm(gtable.narrow(0, 0, 3).t(), colors);
  at::Tensor db = gtable.sum(0);
  at::Tensor dbo = at::full({1}, db_out, opts);
  std::vector<at::Tensor> grads = {dx0, dJ, dB, db, dW, dbo};  // setdyn.paper.PARAM_NAMES order
  if (clip > 0)
    for (at::Tensor& g : grads) g.clamp_(-clip, clip);
  return {at::scalar_tensor(loss, at::kDouble), at::scalar_tensor(correct, at::kLong), Z.t().contiguous(),
          grads[0], grads[1], grads[2], grads[3], grads[4], grads[5]};
}

template <typename T>
at::Tensor outputs(const at::Tensor& codes, const at::Tensor& colors, const at::Tensor& B, const at::Tensor& b,
                   const at::Tensor& J, const at::Tensor& W, const at::Tensor& b_out_t, const at::Tensor& x0,
                   int64_t keep) {
  const int64_t nb = codes.size(0), steps = codes.size(1), n = J.size(0);
  const auto opts = J.options();
  const at::Tensor table = at::cat({at::mm(colors, B.t()), at::zeros({1, n}, opts)}) + b;
  const at::Tensor tcodes = codes.t().contiguous();
  const at::Tensor Jt = J.t().contiguous();
  const T* tb = table.data_ptr<T>();
  const int64_t* code = tcodes.data_ptr<int64_t>();
  const T* w = W.data_ptr<T>();
  const T* x0p = x0.data_ptr<T>();
  const T b_out = T(b_out_t.item<double>());
  at::Tensor cur = at::empty({nb, n}, opts), nxt = at::empty({nb, n}, opts), Z = at::empty({nb, keep}, opts);
  T* z = Z.data_ptr<T>();
  for (int64_t i = 0; i < nb; ++i)
    for (int64_t j = 0; j < n; ++j) cur.data_ptr<T>()[i * n + j] = tanh_of(x0p[j]);
  for (int64_t t = 0; t < steps; ++t) {
    at::mm_out(nxt, cur, Jt);
    T* x = nxt.data_ptr<T>();
    const int64_t* c = code + t * nb;
    const int64_t q = t - (steps - keep);
    for (int64_t i = 0; i < nb; ++i) {
      const T* row = tb + ((c[i] + 4) % 4) * n;
      T* xr = x + i * n;
      T acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t j = 0; j < n; ++j) {
        const T v = tanh_of(xr[j] + row[j]);
        xr[j] = v;
        acc += v * w[j];
      }
      if (q >= 0) z[i * keep + q] = acc + b_out;
    }
    std::swap(cur, nxt);
  }
  return Z;
}

// ---------------------------------------------------------------------------------------------------------
// Gaussian noise, fast: 16 independent xoshiro128+ generators side by side (seeded by splitmix64 from a
// seed and a stream number, so every (seed, stream) is its own reproducible sequence), turned into
// normal numbers by Box-Muller with float polynomial log, sin and cos (Cephes; ~1e-7 relative).
// The loops over the 16 lanes vectorise.
constexpr int kLanes = 16;

inline uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline uint32_t xoshiro128plus(uint32_t& s0, uint32_t& s1, uint32_t& s2, uint32_t& s3) {  // next output
  const uint32_t out = s0 + s3, t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = (s3 << 11) | (s3 >> 21);
  return out;
}

inline float log_of(float x) {  // x in (0, 1]
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  float e = float(int((bits >> 23) & 0xff) - 126);
  bits = (bits & 0x7fffffu) | 0x3f000000u;  // mantissa in [0.5, 1)
  float m;
  std::memcpy(&m, &bits, 4);
  const bool low = m < 0.707106781186547524f;
  e = low ? e - 1.0f : e;
  m = low ? m + m - 1.0f : m - 1.0f;
  const float z = m * m;
  float y = 7.0376836292e-2f;
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  y += -2.12194440e-4f * e;
  y += -0.5f * z;
  return m + y + 0.693359375f * e;
}

// cos and sin of 2 pi u for u in [0, 1)
inline void cos_sin_turn(float u, float& c, float& s) {
  const float v = 4.0f * u;
  const int q = int(v + 0.5f);  // quadrant 0..4
  const float p = (v - float(q)) * 1.57079632679489662f;  // in [-pi/4, pi/4)
  const float z = p * p;
  const float sp = ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * p + p;
  const float cp = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z -
                   0.5f * z + 1.0f;
  const int k = q & 3;
  c = k == 0 ? cp : (k == 1 ? -sp : (k == 2 ? -cp : sp));
  s = k == 0 ? sp : (k == 1 ? cp : (k == 2 ? -sp : -cp));
}

template <typename T>
void fill_normal_impl(T* out, int64_t count, double std, uint64_t seed, uint64_t stream) {
  uint32_t s0[kLanes], s1[kLanes], s2[kLanes], s3[kLanes];
  uint64_t x = seed * 0x9E3779B97F4A7C15ull ^ (stream + 0x632BE59BD9B4E019ull) * 0xD1B54A32D192ED03ull;
  for (int l = 0; l < kLanes; ++l) {
    const uint64_t a = splitmix64(x), b = splitmix64(x);
    s0[l] = uint32_t(a);
    s1[l] = uint32_t(a >> 32);
    s2[l] = uint32_t(b);
    s3[l] = uint32_t(b >> 32) | 1u;  // never all zero
  }
  const float scale = 1.0f / 16777216.0f;  // 2^-24
  const float sd = float(std);
  float block[2 * kLanes];
  for (int64_t at = 0; at < count; at += 2 * kLanes) {
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) {
      const uint32_t r1 = xoshiro128plus(s0[l], s1[l], s2[l], s3[l]);  // two outputs per lane
      const uint32_t r2 = xoshiro128plus(s0[l], s1[l], s2[l], s3[l]);
      const float u1 = float((r1 >> 8) + 1u) * scale;  // (0, 1]
      const float u2 = float(r2 >> 8) * scale;         // [0, 1)
      const float radius = sd * std::sqrt(-2.0f * log_of(u1));
      float c, s;
      cos_sin_turn(u2, c, s);
      block[l] = radius * c;
      block[kLanes + l] = radius * s;
    }
    const int64_t take = std::min<int64_t>(2 * kLanes, count - at);
    for (int64_t i = 0; i < take; ++i) out[at + i] = T(block[i]);
  }
}

}  // namespace

// Loss and gradients for one minibatch. R: (T + 1) x batch x N states holding eta in R[1:] (overwritten
// with the rates); xi: batch x N; codes: batch x T int64 (-1 none, 0..2 colour); parameters as in
// setdyn.model.CTRNN; clip > 0 clamps every gradient element to +-clip; threshold: the decision rule's
// (setdyn.paper.DECISION_THRESHOLD: z > threshold is "valid", z < -threshold "invalid", else undecided);
// GH: T x batch x N workspace. Returns loss, number correct, z (batch x keep) and the gradients of
// x0, J, B, b, W, b_out (setdyn.paper.PARAM_NAMES).
// Runs without the GIL, so the Python thread drawing the noise keeps going meanwhile.
std::vector<at::Tensor> loss_and_grads(at::Tensor R, at::Tensor xi, at::Tensor codes, at::Tensor colors, at::Tensor B,
                                       at::Tensor b, at::Tensor J, at::Tensor W, at::Tensor b_out, at::Tensor x0,
                                       at::Tensor targets, double penalty, int64_t keep, double clip, double threshold,
                                       at::Tensor GH) {
  at::NoGradGuard no_grad;
  TORCH_CHECK(R.dim() == 3 && R.is_contiguous(), "states must be a contiguous (T + 1) x batch x N tensor");
  const int64_t steps = R.size(0) - 1, nb = R.size(1), n = R.size(2);
  TORCH_CHECK(codes.sizes() == at::IntArrayRef({nb, steps}) && codes.scalar_type() == at::kLong,
              "codes must be an int64 batch x T tensor");
  TORCH_CHECK(codes.numel() == 0 || (codes.min().item<int64_t>() >= -1 && codes.max().item<int64_t>() <= 2),
              "stimulus codes must be -1 (no input) or 0, 1, 2");
  TORCH_CHECK(colors.size(0) == 3 && B.size(0) == n && B.size(1) == colors.size(1) && J.sizes() == at::IntArrayRef({n, n}) &&
                  b.numel() == n && W.numel() == n && b_out.numel() == 1 && x0.numel() == n &&
                  xi.sizes() == at::IntArrayRef({nb, n}) && targets.numel() == nb,
              "parameter shapes do not match the states");
  TORCH_CHECK(GH.sizes() == at::IntArrayRef({steps, nb, n}), "workspace shape");
  TORCH_CHECK(keep >= 1 && keep <= steps, "keep must be between 1 and T");
  TORCH_CHECK(threshold >= 0, "the decision threshold must be >= 0");
  for (const at::Tensor* t : {&xi, &colors, &B, &b, &J, &W, &b_out, &x0, &targets, &GH})
    TORCH_CHECK(t->is_contiguous() && t->scalar_type() == R.scalar_type(), "all tensors must be contiguous, one dtype");
  std::vector<at::Tensor> out;
  AT_DISPATCH_FLOATING_TYPES(R.scalar_type(), "setdyn_loss_and_grads", [&] {
    out = run<scalar_t>(R, xi, codes, colors, B, b, J, W, b_out, x0, targets, penalty, keep, clip, threshold, GH);
  });
  return out;
}

// Noise-free outputs z on the last `keep` steps of each trial (batch x keep): what evaluation needs.
at::Tensor final_outputs(at::Tensor codes, at::Tensor colors, at::Tensor B, at::Tensor b, at::Tensor J, at::Tensor W,
                         at::Tensor b_out, at::Tensor x0, int64_t keep) {
  at::NoGradGuard no_grad;
  const int64_t n = J.size(0);
  TORCH_CHECK(codes.dim() == 2 && codes.scalar_type() == at::kLong, "codes must be an int64 batch x T tensor");
  TORCH_CHECK(codes.numel() == 0 || (codes.min().item<int64_t>() >= -1 && codes.max().item<int64_t>() <= 2),
              "stimulus codes must be -1 (no input) or 0, 1, 2");
  TORCH_CHECK(keep >= 1 && keep <= codes.size(1), "keep must be between 1 and T");
  TORCH_CHECK(J.dim() == 2 && J.size(1) == n && colors.size(0) == 3 && B.size(0) == n && B.size(1) == colors.size(1) &&
                  b.numel() == n && W.numel() == n && b_out.numel() == 1 && x0.numel() == n,
              "parameter shapes do not match");
  for (const at::Tensor* t : {&colors, &B, &b, &J, &W, &b_out, &x0})
    TORCH_CHECK(t->is_contiguous() && t->scalar_type() == J.scalar_type(), "all tensors must be contiguous, one dtype");
  at::Tensor out;
  AT_DISPATCH_FLOATING_TYPES(J.scalar_type(), "setdyn_final_outputs",
                             [&] { out = outputs<scalar_t>(codes, colors, B, b, J, W, b_out, x0, keep); });
  return out;
}

// Fill `out` (contiguous) with normal numbers of mean 0 and standard deviation `std`: the sequence of
// generator (seed, stream), the same on every machine.
void fill_normal(at::Tensor out, double std, int64_t seed, int64_t stream) {
  TORCH_CHECK(out.is_contiguous(), "out must be contiguous");
  TORCH_CHECK(std >= 0, "std must be >= 0");
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "setdyn_fill_normal", [&] {
    fill_normal_impl<scalar_t>(out.data_ptr<scalar_t>(), out.numel(), std, uint64_t(seed), uint64_t(stream));
  });
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("fill_normal", &fill_normal, "setdyn: fill a tensor with normal numbers from generator (seed, stream)",
        py::call_guard<py::gil_scoped_release>());
  m.def("final_outputs", &final_outputs, "setdyn: noise-free outputs on the last steps (a = 1)",
        py::call_guard<py::gil_scoped_release>());
  m.def("loss_and_grads", &loss_and_grads, "setdyn: loss and gradients of the a = 1 CT-RNN for one minibatch",
        py::call_guard<py::gil_scoped_release>());
}
