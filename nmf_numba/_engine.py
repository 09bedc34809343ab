"""The engines of a fit on one machine (see :mod:`nmf_numba._loop`): the plain alternation of
half-steps, and the same half-steps with extrapolation.

Both keep the factors tall (``W`` m×k, ``Ht = Hᵀ`` n×k) and take a validated fit (``fit``:
the data operators, β, the penalties, nsNMF's smoothing, the solver record) from
:mod:`nmf_numba.nmf`.
"""

import numpy as np

from .solvers import StepOptions, pgrad_sq_at

__all__ = ["Run", "ExtrapolatedRun", "Momentum", "extrapolate"]


class Run:
    """One W half-step, then one H half-step, per iteration."""

    def __init__(self, fit, W, Ht, rng):
        self.fit, self.W, self.Ht = fit, W, Ht
        # one generator for both half-steps, drawn W-step then H-step: scikit-learn's shuffle
        options = StepOptions(fit.beta, fit.stop == "pgrad", rng)
        self.step_W = fit.solver.new_step(options)
        self.step_H = fit.solver.new_step(options)
        self.max_abs, self.dtype = fit.data.max_abs, fit.data.dtype

    def iteration(self):
        fit, W, Ht = self.fit, self.W, self.Ht
        w_step = self.step_W(fit.data.X_op, W, fit.smoothed(Ht), fit.penalty_W)
        h_step = self.step_H(fit.data.Xt_op, Ht, fit.smoothed(W), fit.penalty_H)
        return w_step, h_step

    def terms(self, h_step, ahead=False):
        return self.fit.terms(self.W, self.Ht, None if h_step is None else h_step.products)

    def pgrad_sq(self):
        fit, W, Ht = self.fit, self.W, self.Ht
        return (pgrad_sq_at(fit.data.X_op, W, fit.smoothed(Ht), fit.beta, fit.penalty_W)
                + pgrad_sq_at(fit.data.Xt_op, Ht, fit.smoothed(W), fit.beta, fit.penalty_H))

    def factors(self):
        return self.W.copy(), self.Ht.T.copy()


class ExtrapolatedRun(Run):
    """The half-steps of a least-squares solver with extrapolation (Ang & Gillis, "Accelerating
    nonnegative matrix factorization algorithms using extrapolation", Neural Computation
    31(2), 2019).

    With the plain iterates ``W_k``, ``H_k`` that the half-steps produce, one iteration is::

        Ĥ = [H_k + β (H_k − H_{k−1})]₊        the extrapolated H
        W_{k+1} = step_W(W_k; Ĥ)             the W half-step against it
        Ŵ = [W_{k+1} + β (W_{k+1} − W_k)]₊    the extrapolated W
        H_{k+1} = step_H(H_k; Ŵ)             the H half-step against it

    The extrapolated points are projected on the non-negative orthant, so ``(Ŵ, H_{k+1})`` is
    a feasible pair, and its objective comes from the H half-step's products (it used ``Ŵ``):
    O((m+n)·k) on top of the plain iteration, plus the copies.  When that objective is lower
    than the best so far, the pair becomes the fit's current state and β grows
    (``β ← min(β̄, 1.05 β)``, ``β̄ ← min(1, 1.01 β̄)``); otherwise the state stays, β shrinks
    (``β̄ ← β``, ``β ← β / 1.5``) and the iterates restart from the state without momentum
    (``W_k, H_k, H_{k−1} ← the state``).  The state the loop records and returns therefore
    never increases the objective.

    Registered for "cd" and "hals" (the record's ``extrapolate``).  With "anls" the same
    scheme converged far more slowly than plain ANLS on a dense low-rank problem (its exact
    half-steps follow the extrapolated factor completely), so it is not offered there yet.
    """

    def __init__(self, fit, W, Ht, rng):
        super().__init__(fit, W, Ht, rng)
        self._W, self._Ht = W.copy(), Ht.copy()   # the plain iterates W_k, H_k
        self._Ht_prev = self._Ht.copy()           # H_{k−1}: no momentum at the start
        self._W_prev = np.empty_like(W)           # W_k while W_{k+1} is formed
        self._W_hat, self._H_hat = np.empty_like(W), np.empty_like(Ht)  # extrapolated points
        self.momentum = Momentum()
        self._best = None                         # (data term, objective) of the state

    @property
    def restarts(self):
        return self.momentum.restarts

    def iteration(self):
        fit, beta = self.fit, self.momentum.beta
        H_hat = extrapolate(self._Ht, self._Ht_prev, beta, out=self._H_hat)
        np.copyto(self._W_prev, self._W)
        w_step = self.step_W(fit.data.X_op, self._W, fit.smoothed(H_hat), fit.penalty_W)
        W_hat = extrapolate(self._W, self._W_prev, beta, out=self._W_hat)
        np.copyto(self._Ht_prev, self._Ht)
        h_step = self.step_H(fit.data.Xt_op, self._Ht, fit.smoothed(W_hat), fit.penalty_H)
        if self._best is None:
            self._best = fit.terms(self.W, self.Ht)
        candidate = fit.terms(W_hat, self._Ht, h_step.products)
        if self.momentum.judge(candidate[1] < self._best[1]):  # accept the pair
            self.W[...] = W_hat
            self.Ht[...] = self._Ht
            self._best = candidate
        else:  # keep the state and restart from it without momentum
            self._W[...] = self.W
            self._Ht[...] = self.Ht
            self._Ht_prev[...] = self.Ht
        return w_step, h_step

    def terms(self, h_step, ahead=False):
        if h_step is None or self._best is None:  # exactly, at the state
            self._best = self.fit.terms(self.W, self.Ht)
        return self._best


class Momentum:
    """Ang & Gillis's rule for the extrapolation weight β (shared by every extrapolated
    engine, on one machine and on Dask): start at 0.5; after an accepted step
    ``β ← min(β̄, 1.05 β)`` and ``β̄ ← min(1, 1.01 β̄)``; after a rejected one ``β̄ ← β`` and
    ``β ← β / 1.5``."""

    START, GROW, CAP_GROW, SHRINK = 0.5, 1.05, 1.01, 1.5

    def __init__(self):
        self.beta, self.cap, self.restarts = self.START, 1.0, 0

    def judge(self, improved):
        """Adapt β to the outcome of the last extrapolated step; returns ``improved``."""
        if improved:
            self.beta = min(self.cap, self.GROW * self.beta)
            self.cap = min(1.0, self.CAP_GROW * self.cap)
        else:
            self.cap = self.beta
            self.beta /= self.SHRINK
            self.restarts += 1
        return improved


def extrapolate(A, A_prev, beta, out):
    """``[A + β (A − A_prev)]₊`` in A's dtype, into ``out``."""
    np.subtract(A, A_prev, out=out)
    out *= A.dtype.type(beta)
    out += A
    return np.maximum(out, 0, out=out)
