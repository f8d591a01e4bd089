"""K CT-RNNs stacked: their simulation over a trial, and its hand-written backward pass through time.

The arithmetic of the batched trainer (`setdyn.training.batched`): K networks
with their own weights step together, one batched matrix product (`torch.bmm`)
per time step forward and two per step backward. Shapes: K members, B trials
per member, T steps of dt = 10 ms, N units.
"""
from __future__ import annotations

import torch


class StackedRecurrence(torch.autograd.Function):
    """K stacked CT-RNNs over T steps, with a hand-written backward pass through time.

    Inputs: x0 (K x B x N) initial states, table (K x 4 x N) the projected
    inputs B u for (green, purple, red, nothing), b (K x N) the bias, J
    (K x N x N), onehot (T x K x B x 4) the stimulus, noise (K x B x T x N,
    already scaled; or None), a (K x 1 x 1) = dt / tau, `unit` (all a == 1),
    `keep` (how many final steps of rates to return).

    The dynamics are x_{t+1} = (1 - a) x_t + a (J tanh(x_t) + B u_t + b + eta_t),
    with rates R_t = tanh(x_{t+1}) for t = 0..T-1 (as `CTRNN.run`).

    Returns the last `keep` rates (keep x K x B x N) and the mean squared rate
    of each member over all steps, trials and units (K,), the activity
    penalty's term. Only these two are returned so that autograd never
    materialises full-size gradient tensors; the backward pass accumulates the
    gradients of J, the input table, b and x0 step by step.
    """

    @staticmethod
    def forward(ctx, x0, table, b, J, onehot, noise, a, unit, keep):  # type: ignore[override]
        sq = torch.zeros(x0.shape[0], dtype=x0.dtype)
        R = stacked_rollout(x0, table, b, J, onehot, noise, a, unit, sq)
        ctx.save_for_backward(torch.tanh(x0), R, J, onehot, a)
        ctx.unit, ctx.keep = unit, keep
        return R[R.shape[0] - keep:].clone(), sq / (R.shape[0] * R.shape[2] * R.shape[3])

    @staticmethod
    def backward(ctx, g_last, g_msq):  # type: ignore[override]
        r0, R, J, onehot, a = ctx.saved_tensors
        unit, keep = ctx.unit, ctx.keep
        T, K, nb, N = R.shape
        coef = (2.0 / (T * nb * N)) * g_msq.reshape(K, 1, 1)  # d mean(R^2) / dR = 2 R / size
        one = torch.ones(1, dtype=R.dtype)
        gJ = torch.zeros_like(J)
        gtable = torch.zeros(K, 4, N, dtype=R.dtype)  # of the table with b folded in
        carry: torch.Tensor | None = None
        s = torch.addcmul(one, R[T - 1], R[T - 1], value=-1)  # tanh' = 1 - r^2 at x_T
        for t in range(T - 1, -1, -1):
            r = R[t]
            G = torch.mul(r, s)
            G = torch.addcmul(carry, G, coef) if carry is not None else G.mul_(coef)
            if t >= T - keep:
                G.addcmul_(g_last[t - (T - keep)], s)
            gh = G if unit else a * G  # dL/dh_t, h_t = J r_{t-1} + B u_t + b + eta_t
            rprev = R[t - 1] if t > 0 else r0
            gJ.baddbmm_(gh.transpose(1, 2), rprev)
            gtable.baddbmm_(onehot[t].transpose(1, 2), gh)
            s = torch.addcmul(one, rprev, rprev, value=-1)
            carry = torch.bmm(gh, J).mul_(s)
            if not unit:
                carry.add_((1 - a) * G)
        # every (trial, step) uses exactly one table row, so the bias gradient is the row sum
        return carry, gtable, gtable.sum(1), gJ, None, None, None, None, None


def stacked_rollout(x0: torch.Tensor, table: torch.Tensor, b: torch.Tensor, J: torch.Tensor, onehot: torch.Tensor,
             noise: torch.Tensor | None, a: torch.Tensor, unit: bool,
             sq: torch.Tensor | None = None) -> torch.Tensor:
    """Rates R (T x K x B x N) of the stacked networks (see `StackedRecurrence`); no autograd.

    Per step: h = (eta_t + J r) + (B u_t + b), two batched matmuls and a tanh
    written straight into R (the one-hot matmul picks table rows exactly).
    `sq` (K,), if given, accumulates each member's sum of squared rates (done
    per step while the rates are in cache: 5x cheaper than afterwards).
    """
    T = onehot.shape[0]
    K, nb, N = x0.shape
    Jt = J.transpose(1, 2).contiguous()  # bmm is ~1.5x faster on a contiguous right operand
    tb = table + b[:, None, :]
    R = torch.empty(T, K, nb, N, dtype=x0.dtype)
    x = x0
    r = torch.tanh(x0)
    one_minus_a = 1 - a
    for t in range(T):
        h = torch.bmm(r, Jt) if noise is None else torch.baddbmm(noise[:, :, t], r, Jt)
        h.baddbmm_(onehot[t], tb)
        if not unit:
            x = torch.addcmul(a * h, one_minus_a, x)
            h = x
        r = torch.tanh(h, out=R[t])
        if sq is not None:
            flat = r.reshape(K, 1, -1)
            sq += torch.bmm(flat, flat.transpose(1, 2)).reshape(K)
    return R


__all__ = ["StackedRecurrence", "stacked_rollout"]
