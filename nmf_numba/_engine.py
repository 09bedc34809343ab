"""The engines of a fit on one machine (see :mod:`nmf_numba._loop`): the plain alternation of
half-steps, and the same half-steps with extrapolation.

Both keep the factors tall (``W`` m×k, ``Ht = Hᵀ`` n×k) and take a validated fit (``fit``:
the data operators, β, the penalties, nsNMF's smoothing, the solver record) from
:mod:`nmf_numba.nmf`.
"""

import functools
from dataclasses import replace

import numpy as np

from .solvers import StepOptions, pgrad_sq_at
from .solvers import get as get_solver

__all__ = ["Run", "ExtrapolatedRun", "RelaxedRun", "MuFirstRun", "Momentum", "extrapolate",
           "engine_for"]


def engine_for(fit):
    """The engine class of a validated fit: plain, or the accelerated variant its solver has."""
    if not fit.accelerate:
        return Run
    if fit.solver.extrapolate:
        return ExtrapolatedRun
    return MuFirstRun if fit.solver.mu_first else RelaxedRun


class Run:
    """One W half-step, then one H half-step, per iteration."""

    relaxation = None  # the over-relaxation the half-steps read (RelaxedRun)

    def __init__(self, fit, W, Ht, rng):
        self.fit, self.W, self.Ht = fit, W, Ht
        # one generator for both half-steps, drawn W-step then H-step: scikit-learn's shuffle
        options = StepOptions(fit.beta, fit.stop == "pgrad", rng, self.relaxation)
        self.step_W = fit.solver.new_step(options)
        self.step_H = fit.solver.new_step(options)
        self.max_abs, self.dtype = fit.data.max_abs, fit.data.dtype
        self.balance = graph_to_balance(fit)
        if self.balance is not None:  # the start too, as Cai et al.'s code does
            self.balance(W, Ht)

    def iteration(self):
        fit, W, Ht = self.fit, self.W, self.Ht
        w_step = self.step_W(fit.data.X_op, W, fit.smoothed(Ht), fit.penalty_W)
        h_step = self.step_H(fit.data.Xt_op, Ht, fit.smoothed(W), fit.penalty_H)
        if self.balance is not None:
            h_step = balanced(self.balance, W, Ht, h_step)
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
        if self.balance is not None:  # the iterates scaled alike: extrapolation commutes with it
            d = self.balance(self.W, self.Ht)
            self._W *= d.astype(self._W.dtype)
            self._Ht /= d.astype(self._Ht.dtype)
            self._Ht_prev /= d.astype(self._Ht.dtype)
            self._best = fit.with_penalties(self._best[0], self.W, self.Ht)
        return w_step, h_step

    def terms(self, h_step, ahead=False):
        if h_step is None or self._best is None:  # exactly, at the state
            self._best = self.fit.terms(self.W, self.Ht)
        return self._best


class RelaxedRun(Run):
    """Multiplicative updates over-relaxed, with a safeguard: ``A ← A ⊙ (num ⊘ den)^(ω·γ)``
    for both factors; a pair that lowers the objective becomes the fit's state and ω grows
    (``ω ← min(5, 1.1 ω)``), one that does not is undone (the iterate restarts from the
    state) and ω halves, never below 1 (the MM step, which cannot increase the objective).
    ω starts at 2; the steps use it rounded down to a multiple of 1/2 (:attr:`omega`).

    Over-relaxing the exponent lengthens MU's step along its own log-space direction.  MU's
    local convergence allows exponents up to 2 (Badeau, Bertin & Vincent, IEEE Trans. Neural
    Netw. 21(12), 2010); with the safeguard, larger ones pay far from a solution.
    Extrapolating MU's factors as :class:`ExtrapolatedRun` does was tried first: on Poisson
    counts with KL it reached 1e-2 of the best objective sooner and then stalled above plain
    MU, so MU gets this instead (the README has the measurements).

    The pair a W half-step starts from is the last iteration's result, so for KL the W
    step measures its objective on the way (``HalfStep.data_term``: one ``log`` per stored
    entry, not a pass of its own) and the pair is judged then, one half-step late; a rejected
    pair costs that W half-step again, from the state.  For β = 2 the H half-step's products
    give the new pair's objective at once; other β evaluate it.  The loop records and the fit
    returns the state, which never increases the objective.  A pair still unjudged when the
    run ends is judged at the last check (``max_iter`` or the time limit); when the tolerance
    or the callback stops the run, the state before it is returned.

    Registered for "mu" with β ∈ [1, 2] (the record's ``relax_betas``).
    """

    START, MAX, GROW, SHRINK = 2.0, 5.0, 1.1, 2.0

    def __init__(self, fit, W, Ht, rng):
        self.relaxation = self  # the steps read self.omega and self.measure
        self._omega, self.measure = self.START, False
        super().__init__(fit, W, Ht, rng)       # self.W, self.Ht: the state
        self._W, self._Ht = W.copy(), Ht.copy()  # the iterate
        self._W_before = np.empty_like(W)
        self._best = None      # (data term, objective) of the state
        self._pending = False  # the iterate is a new pair, not judged yet
        self.restarts = 0

    @property
    def omega(self):
        """The exponent factor the steps apply: ω rounded down to a multiple of 1/2, so that
        for β ∈ {1, 2} the power is a square root and products (no ``pow``)."""
        return max(1.0, np.floor(2.0 * self._omega) / 2.0)

    def _judge(self, candidate, W, Ht):
        """Make ``(W, Ht)`` the state if it lowers the objective, else restart the iterate
        from the state; adapt ω.  Returns whether it was kept."""
        self._pending = False
        if candidate[1] < self._best[1]:
            self._best = candidate
            np.copyto(self.W, W)
            np.copyto(self.Ht, Ht)
            self._omega = min(self.MAX, self.GROW * self._omega)
            return True
        np.copyto(self._W, self.W)
        np.copyto(self._Ht, self.Ht)
        self._omega = max(1.0, self._omega / self.SHRINK)
        self.restarts += 1
        return False

    def _step_W(self):
        fit = self.fit
        np.copyto(self._W_before, self._W)
        self.measure = self._pending
        try:
            return self.step_W(fit.data.X_op, self._W, fit.smoothed(self._Ht), fit.penalty_W)
        finally:
            self.measure = False

    def iteration(self):
        fit = self.fit
        if self._best is None:
            self._best = fit.terms(self.W, self.Ht)
        w_step = self._step_W()
        if self._pending:  # judge the pair the W step started from
            data_term = w_step.data_term
            candidate = (fit.terms(self._W_before, self._Ht) if data_term is None
                         else fit.with_penalties(data_term, self._W_before, self._Ht))
            if not self._judge(candidate, self._W_before, self._Ht):
                w_step = self._step_W()  # again, from the state
        h_step = self.step_H(fit.data.Xt_op, self._Ht, fit.smoothed(self._W), fit.penalty_H)
        if h_step.products is not None:  # β = 2: the new pair's objective from the products
            self._judge(fit.terms(self._W, self._Ht, h_step.products), self._W, self._Ht)
        else:
            self._pending = True
        return w_step, h_step

    def terms(self, h_step, ahead=False):
        if self._best is None:
            self._best = self.fit.terms(self.W, self.Ht)
        if self._pending and h_step is not None and not ahead:  # the run's last check
            self._judge(self.fit.terms(self._W, self._Ht), self._W, self._Ht)
        return self._best


class MuFirstRun(RelaxedRun):
    """Over-relaxed MU (:class:`RelaxedRun`) until it slows down, then the fit's own solver
    from the state MU reached: ``accelerate=True`` for "newton-cd" (the record's
    ``mu_first``).

    The switch comes after the first iteration at which the state's objective fell by less
    than ``SWITCH`` (0.1 %) relative over the last ``WINDOW`` iterations.  MU's iterations
    cost a tenth of a Newton sweep's and make the early progress; Newton's converge in far
    fewer iterations near a solution.  The start decides the local minimum too: on the
    Reuters counts (k = 20) Newton from NNDSVDa stops 0.14 % above what scikit-learn's MU
    reaches in 200 iterations, and from MU's state 0.22 % below it (README).
    """

    SWITCH, WINDOW = 1e-3, 10

    def __init__(self, fit, W, Ht, rng):
        super().__init__(replace(fit, solver=get_solver("mu")), W, Ht, rng)
        self._final = None  # the fit's own solver, once switched
        self._fit_after, self._rng = fit, rng
        self._trace = []    # the state's objective at each MU iteration

    def iteration(self):
        if self._final is not None:
            return self._final.iteration()
        steps = super().iteration()
        self._trace.append(self._best[1])
        if len(self._trace) > self.WINDOW:
            before, now = self._trace[-1 - self.WINDOW], self._trace[-1]
            if before - now < self.SWITCH * abs(now):
                self._switch()
        return steps

    def _switch(self):
        if self._pending:  # judge MU's last pair exactly before leaving it
            self._judge(self.fit.terms(self._W, self._Ht), self._W, self._Ht)
        self._final = Run(self._fit_after, self.W, self.Ht, self._rng)  # on the state

    @property
    def switched_at(self):
        """The MU iterations before the switch (None: not switched)."""
        return None if self._final is None else len(self._trace)

    def terms(self, h_step, ahead=False):
        if self._final is not None:
            self._best = self._final.terms(h_step, ahead)
            return self._best
        return super().terms(h_step, ahead)


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


def graph_to_balance(fit):
    """``balance(W, Ht) -> d`` for a GNMF fit whose factors the engine keeps balanced after
    every iteration (:meth:`Graph.balance`: unit-norm rows of H, the scale in W, as Cai et al.
    normalise the basis), or None: no graph, or nsNMF (its smoothing matrix does not commute
    with rescaling, so balancing would change the model ``W S H``).  Fixed components (a row
    of H or a column of W that must keep its values) are left at their scale."""
    graph = fit.penalty_W.graph
    if graph is None or fit.S is not None:
        return None
    fixed = [mask for mask in (fit.fixed_H, fit.fixed_W) if mask is not None]
    return functools.partial(graph.balance, keep=np.logical_or.reduce(fixed) if fixed else None)


def balanced(balance, W, Ht, h_step):
    """Balance ``(W, Ht)`` after an H half-step (``balance``, from :func:`graph_to_balance`)
    and return the half-step's by-products for the balanced factors: the least-squares
    products ``(Xᵀ W, WᵀW)`` scale with W's columns, so the objective still comes from them."""
    d = balance(W, Ht)
    if h_step.products is None:
        return h_step
    XtB, BtB = h_step.products
    d_XtB = d.astype(XtB.dtype)
    return h_step._replace(products=(XtB * d_XtB, BtB * np.outer(d_XtB, d_XtB)))


def extrapolate(A, A_prev, beta, out):
    """``[A + β (A − A_prev)]₊`` in A's dtype, into ``out``."""
    np.subtract(A, A_prev, out=out)
    out *= A.dtype.type(beta)
    out += A
    return np.maximum(out, 0, out=out)
