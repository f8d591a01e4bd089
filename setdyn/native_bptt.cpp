// Loss and gradients of the a = 1 CT-RNN for one minibatch, in one call: setdyn.native's kernel.
//
// The same computation as setdyn.bptt.loss_and_grads (read its docstring for the equations), with
// the element-wise work of each step fused into one pass over the step's batch x N block, next to
// the step's matrix product:
//   forward,  step t:  P = r_{t-1} J^T (product),  then one pass: r_t = tanh(P + eta_t + table[code_t])
//                      (table row = B u + b), and the sum of r_t^2 (penalty);
//   backward, step t:  G = g_{t+1} J (product),  then one pass: g_t = (1 - r_t^2) (G + k r_t + dz_t W)
//                      (dz only on the scored last steps), summed per input code (for B and b);
// then dJ = sum_t g_t^T r_{t-1} in one product. Matrix products go through ATen (MKL). tanh in
// float32 is a rational approximation (Eigen's; at most 3.5e-7 from tanh, about 3 float32 ulp
// near +-1) that vectorises inside the pass; in float64 it is std::tanh. Single-threaded,
// deterministic.
#include <torch/extension.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

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
                            double penalty, int64_t keep, double clip, at::Tensor GH) {
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
  int64_t correct = 0;  // trials whose output at the last step is on the right side of +-0.5
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
        const T decision = zi > T(0.5) ? T(1) : (zi < T(-0.5) ? T(-1) : T(0));
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
  at::Tensor dJ = at::zeros({n, n}, opts);
  const int64_t chunk = 10;  // steps per dJ product, taken while the chunk's g is still in cache
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
    if (t % chunk == 0) {  // dJ += sum over steps t..t+chunk-1 of g_s^T r_{s-1}
      const int64_t len = std::min(chunk, steps - t);
      dJ.addmm_(GH.narrow(0, t, len).reshape({len * nb, n}).t(), R.narrow(0, t, len).reshape({len * nb, n}));
    }
  }
  at::mm_out(tmp, GH.select(0, 0), J);  // dL/dr_0
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
  std::vector<at::Tensor> grads = {dJ, dB, db, dx0, dW, dbo};
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

}  // namespace

// Loss and gradients for one minibatch. R: (T + 1) x batch x N states holding eta in R[1:] (overwritten
// with the rates); xi: batch x N; codes: batch x T int64 (-1 none, 0..2 colour); parameters as in
// setdyn.model.CTRNN; clip > 0 clamps every gradient element to +-clip; GH: T x batch x N workspace.
// Returns loss, number correct, z (batch x keep) and the gradients of J, B, b, x0, W, b_out.
// Runs without the GIL, so the Python thread drawing the noise keeps going meanwhile.
std::vector<at::Tensor> loss_and_grads(at::Tensor R, at::Tensor xi, at::Tensor codes, at::Tensor colors, at::Tensor B,
                                       at::Tensor b, at::Tensor J, at::Tensor W, at::Tensor b_out, at::Tensor x0,
                                       at::Tensor targets, double penalty, int64_t keep, double clip, at::Tensor GH) {
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
  for (const at::Tensor* t : {&xi, &colors, &B, &b, &J, &W, &b_out, &x0, &targets, &GH})
    TORCH_CHECK(t->is_contiguous() && t->scalar_type() == R.scalar_type(), "all tensors must be contiguous, one dtype");
  std::vector<at::Tensor> out;
  AT_DISPATCH_FLOATING_TYPES(R.scalar_type(), "setdyn_loss_and_grads", [&] {
    out = run<scalar_t>(R, xi, codes, colors, B, b, J, W, b_out, x0, targets, penalty, keep, clip, GH);
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

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("final_outputs", &final_outputs, "setdyn: noise-free outputs on the last steps (a = 1)",
        py::call_guard<py::gil_scoped_release>());
  m.def("loss_and_grads", &loss_and_grads, "setdyn: loss and gradients of the a = 1 CT-RNN for one minibatch",
        py::call_guard<py::gil_scoped_release>());
}
