"""The compiled loop for small problems: a whole fit of ``cd``, ``hals`` or ``mu`` in one
Numba-compiled function, without a Python step per half-step.

On a 100×50 matrix one iteration of the kernels takes a few microseconds and the Python around
them (the solver's half-step objects, the operator, the loop's bookkeeping) ten times that, so
below :data:`nmf_numba._threads.settings.small_problem` stored entries the iterations run here:

* the half-steps are the same kernels as the Python loop's (their serial twins,
  :func:`nmf_numba._numba.serial_twin`: the same arithmetic in the same order) and the same
  BLAS products, so the iterates agree with the Python loop's to rounding;
* the objective comes from the same compiled functions (:func:`nmf_numba.losses.
  frobenius_from_parts`, :func:`~nmf_numba.losses.divergence_from_terms`,
  :func:`nmf_numba.solvers._common.elastic_net_value`) and the ``tol`` rules are the loop's own
  (:func:`nmf_numba._loop.tol_reached`), so it stops at the same iteration;
* the loop of :func:`run` calls :func:`iterate` for a chunk of iterations and does the rest in
  Python between chunks: the history (the objective checks come back as a trace; their times
  are interpolated over the chunk), the callback (a chunk ends at every check when there is
  one), the time limit (chunks of about a millisecond when there is one) and Ctrl-C (chunks
  of at most about 0.1 s otherwise: a signal is only handled once Python runs again).

It covers plain fits (no ``accelerate``) of the solvers whose record says ``compiled`` ("cd",
"hals": β = 2; "mu": every β), dense or CSR, float32 or float64, with L1/L2 penalties and the
"objective", "relative" and "sklearn" stopping rules; with missing values or weights
(observed-only data) "cd" and "hals".  Graphs, nsNMF, ``shuffle``, ``stop="pgrad"``, fixed
components and MU with missing values or weights take the Python loop (:func:`supports`).

Data travel as an "operator" that Numba dispatches on by type: a dense ``X`` is the 2-D array
itself, a CSR one the tuple ``(data, indices, indptr, n_cols)``, observed-only data (the stored
entries are the observations) the tuple ``(data, indices, indptr, n_cols, weights)``, its
weights aligned with ``data`` (an empty array: every weight is 1, the masked fit's arithmetic).
"""

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import overload
from numba.typed import List

from ._loop import IterationInfo, Outcome, _record, _record_many, check_finite, tol_reached
from ._numba import CACHE, SERIAL
from ._threads import serial_blas
from ._threads import settings as thread_settings
from .kernels import csr as csr_k
from .kernels import dense as dense_k
from .losses import EPSILON, divergence_from_terms, frobenius_from_parts
from .solvers._common import elastic_net_value
from .solvers.hals import DELTA, max_sweeps
from .solvers.mu import _TINY, gamma

__all__ = ["supports", "batchable", "run", "run_many", "iterate", "operators"]

CD, HALS, MU = 0, 1, 2
SOLVER_CODES = {"cd": CD, "hals": HALS, "mu": MU}
"""The solvers the compiled loop runs (their records say ``compiled``)."""

_SKLEARN = 2  # STOP_CODES["sklearn"]
CHUNK_SECONDS = 0.1        # a chunk's length, so that Ctrl-C is handled promptly
ROUND_SECONDS = 0.5        # nmf_many's rounds (each pays a Python pass over the problems)
TIME_LIMIT_CHUNK = 1e-3    # with a time limit: how far the limit may be overshot


def _chunk(fit, seconds, measured=None):
    """Iterations for about ``seconds``: from the last chunk's ``(seconds, iterations)``
    when given, else from the problem's size (0.5 ns per multiply-add of the products ``X B``
    and ``Xᵀ W``, 1 µs fixed: about what ``cd`` takes on this project's machine; the next
    chunk corrects the guess)."""
    if measured is not None:
        elapsed, done = measured
        per_iteration = max(elapsed, 1e-9) / max(done, 1)
    else:
        per_iteration = 1e-6 + 1e-9 * fit.data.X_op.n_stored * fit.k
    return max(1, int(seconds / per_iteration))


# the kernels the loop calls: the serial twins of the Python loop's, and the column sweep
_hals_sweep = dense_k.hals_sweep_columns
_mu_apply = dense_k.mu_apply_serial
_mu_ratio = dense_k.mu_ratio_serial
_dense_beta_terms = dense_k.beta_terms_serial
_pow_rows = dense_k.pow_rows_serial
_spmm = csr_k.spmm_serial
_mu_ratio_times = csr_k.mu_ratio_times_serial
_csr_beta_terms = csr_k.beta_terms_serial
_residual_terms = csr_k.residual_terms_serial
_masked_hals = csr_k.masked_hals_rows_serial
_weighted_residual = csr_k.weighted_residual_serial


def supports(fit):
    """Whether the validated ``fit`` runs in the compiled loop."""
    data = fit.data
    m, n = data.shape
    return (fit.solver.compiled and fit.solver.name in SOLVER_CODES
            and data.X_op.n_stored < thread_settings.small_problem
            and not fit.accelerate and fit.S is None and not fit.shuffle
            and fit.stop != "pgrad" and fit.penalty_W.graph is None
            # fixed components (fix_H/fix_W): the Python loop's half-steps take them
            and fit.penalty_W.free is None and fit.penalty_H.free is None
            and (not data.X_op.observed_only  # missing values: the per-row Gram sweeps
                 or (fit.beta == 2.0 and fit.solver.name in ("cd", "hals")))
            # CSR with β ∉ {1, 2}: the MU denominator forms the whole model A Bᵀ
            and (not data.sparse or fit.beta in (1.0, 2.0)
                 or m * n < thread_settings.small_problem))


def operators(data):
    """The compiled loop's operators of ``X`` and ``Xᵀ`` (see the module's docstring)."""
    def as_op(op):
        if not hasattr(op, "args"):
            return op.X
        if op.observed_only:
            return op.args + (np.int64(op.shape[1]), op._w)
        return op.args + (np.int64(op.shape[1]),)

    return as_op(data.X_op), as_op(data.Xt_op)


# ---------------------------------------------------------------- operators, by data type

def _times(op, B):
    """``X B``."""


def _mu_products(op, A, B, beta, eps):
    """``(num, den)`` of the β ≠ 2 MU step on A (as ``op.mu_products``)."""


def _beta_sums(op, A, B, beta, eps):
    """``(s1, s2, s3)`` of ``D_β(X | A Bᵀ)`` (as ``op.beta_terms``), and the entries counted."""


def _least_squares(op, A, B, l1, l2, n_sweeps, delta_sq, violation_too):
    """The ``cd``/``hals`` half-step on ``A`` (in place): ``(violation, X B, BᵀB)`` as
    :func:`_half_step` returns them (the violation only when ``violation_too``)."""


def _half_sq_error(op, A, B, sq_norm, XB, G):
    """``½‖X − A Bᵀ‖²`` over the counted entries, from the least-squares step's products where
    they give it."""


def _is_dense(op):
    return isinstance(op, types.Array)


def _is_observed(op):
    return isinstance(op, types.BaseTuple) and len(op.types) == 5


@overload(_times)
def _times_impl(op, B):
    if _is_dense(op):
        return lambda op, B: np.dot(op, B)

    def csr(op, B):  # observed-only data: X B over the observed entries
        data, indices, indptr = op[0], op[1], op[2]
        out = np.empty((indptr.shape[0] - 1, B.shape[1]), B.dtype)
        _spmm(data, indices, indptr, B, out)
        return out

    return csr


@njit(**SERIAL)
def _repeat_colsum(B, n_rows):
    """``den`` of the KL step: B's column sums on every row."""
    colsum = B.sum(axis=0)
    den = np.empty((n_rows, B.shape[1]), B.dtype)
    for i in range(n_rows):
        den[i, :] = colsum
    return den


@overload(_mu_products)
def _mu_products_impl(op, A, B, beta, eps):
    if _is_dense(op):
        def dense(op, A, B, beta, eps):
            dt = A.dtype.type
            P = np.dot(A, B.T)
            need_den = beta != 1.0
            D = np.empty_like(P) if need_den else np.empty((0, 0), P.dtype)
            _mu_ratio(op, P, D, dt(beta), dt(eps), need_den)
            num = np.dot(P, B)
            den = np.dot(D, B) if need_den else _repeat_colsum(B, A.shape[0])
            return num, den

        return dense

    # (compiled for observed-only operators too, never called with them: supports())
    def csr(op, A, B, beta, eps):
        data, indices, indptr = op[0], op[1], op[2]
        dt = A.dtype.type
        num = np.empty_like(A)
        _mu_ratio_times(data, indices, indptr, A, B, dt(beta), dt(eps), num)
        if beta == 1.0:
            return num, _repeat_colsum(B, A.shape[0])
        P = np.dot(A, B.T)  # small problems only (supports): the whole model at once
        _pow_rows(P, dt(beta - 1.0), dt(eps), beta < 1.0)
        return num, np.dot(P, B)

    return csr


@overload(_beta_sums)
def _beta_sums_impl(op, A, B, beta, eps):
    if _is_dense(op):
        def dense(op, A, B, beta, eps):
            sums = _dense_beta_terms(op, np.dot(A, B.T), beta, eps).sum(axis=0)
            return sums[0], sums[1], sums[2], op.shape[0] * op.shape[1]

        return dense

    def csr(op, A, B, beta, eps):  # (as _mu_products: never with observed-only data)
        data, indices, indptr, n_cols = op[0], op[1], op[2], op[3]
        sums = _csr_beta_terms(data, indices, indptr, A, B, beta, eps).sum(axis=0)
        if beta == 1.0:
            s3 = np.dot(A.astype(np.float64).sum(axis=0), B.astype(np.float64).sum(axis=0))
        elif beta == 0.0:
            s3 = 0.0
        else:
            s3 = (np.dot(A, B.T).astype(np.float64) ** beta).sum()
        return sums[0], sums[1], s3, (indptr.shape[0] - 1) * n_cols

    return csr


@overload(_least_squares)
def _least_squares_impl(op, A, B, l1, l2, n_sweeps, delta_sq, violation_too):
    if _is_observed(op):  # each row's own Gram matrix: RowGrams.sweeps
        def observed(op, A, B, l1, l2, n_sweeps, delta_sq, violation_too):
            data, indices, indptr, weights = op[0], op[1], op[2], op[4]
            change = np.empty(indptr.shape[0] - 1)
            _masked_hals(data, indices, indptr, weights, A, B, float(l1), float(l2), n_sweeps,
                         change)
            empty = np.empty((0, 0), A.dtype)
            return np.nan, empty, empty

        return observed

    def shared(op, A, B, l1, l2, n_sweeps, delta_sq, violation_too):  # SharedGram.sweeps
        dt = A.dtype.type
        XB = _times(op, B)
        G = np.dot(B.T, B)
        XB_l1 = XB - dt(l1) if l1 != 0.0 else XB
        G_l2 = G
        if l2 != 0.0:
            G_l2 = G.copy()
            for t in range(G.shape[0]):
                G_l2[t, t] += dt(l2)
        first, violation = _hals_sweep(A, G_l2, XB_l1, violation_too)
        done = 1
        while done < n_sweeps and first != 0.0:
            change = _hals_sweep(A, G_l2, XB_l1, False)[0]
            done += 1
            if change <= delta_sq * first:
                break
        return violation, XB, G

    return shared


@overload(_half_sq_error)
def _half_sq_error_impl(op, A, B, sq_norm, XB, G):
    if _is_observed(op):  # at the observed entries (losses.divergence: op.residual_sq)
        def observed(op, A, B, sq_norm, XB, G):
            if op[4].shape[0] > 0:  # weighted
                return 0.5 * _weighted_residual(op[0], op[1], op[2], op[4], A, B).sum()
            return 0.5 * _residual_terms(op[0], op[1], op[2], A, B)[:, 0].sum()

        return observed
    return lambda op, A, B, sq_norm, XB, G: 0.5 * frobenius_from_parts(sq_norm, B, XB, G)


# ---------------------------------------------------------------- the half-step and the loop

@njit(**SERIAL)
def _add_penalty(den, A, l1, l2):
    """``den + l1 + l2·A`` in place (as :meth:`nmf_numba.solvers.Penalty.add_to_denominator`)."""
    dt = A.dtype.type
    if l1 != 0.0:
        den += dt(l1)
    if l2 != 0.0:
        den += dt(l2) * A


@njit(**SERIAL)
def _half_step(op, A, B, solver, beta, gamma_, l1, l2, n_sweeps, delta_sq, zero_below,
               violation_too):
    """One half-step on ``A`` (in place) for ``X_op ≈ A Bᵀ``: the solver's own
    (``cd``/``hals``: :class:`nmf_numba._data.SharedGram`'s sweeps; ``mu``:
    :func:`nmf_numba.solvers.mu.update`).  Returns ``(violation, X B, BᵀB)``: scikit-learn's
    violation of the first sweep (``cd``/``hals`` when ``violation_too``, else NaN or 0) and,
    for β = 2, the products without the penalty (the objective's parts; empty otherwise)."""
    dt = A.dtype.type
    if beta == 2.0 and solver != MU:
        return _least_squares(op, A, B, l1, l2, n_sweeps, delta_sq, violation_too)
    if beta == 2.0:
        XB = _times(op, B)
        G = np.dot(B.T, B)
        den = np.dot(A, G)
        _add_penalty(den, A, l1, l2)
        _mu_apply(A, XB, den, dt(gamma_), dt(EPSILON), dt(zero_below))
        return np.nan, XB, G
    num, den = _mu_products(op, A, B, beta, EPSILON)
    _add_penalty(den, A, l1, l2)
    _mu_apply(A, num, den, dt(gamma_), dt(EPSILON), dt(zero_below))
    empty = np.empty((0, 0), A.dtype)
    return np.nan, empty, empty


@njit(**SERIAL)
def iterate(op, op_t, W, Ht, fixed, state, trace, n_done, n_until, pause):
    """Iterations ``n_done + 1 .. n_until`` of a fit (``W``, ``Ht`` in place), stopping early
    when the ``tol`` rule is met, the objective is not finite, or (``pause``) after the first
    objective check.

    ``fixed`` holds what does not change during the fit: ``(solver, β, γ, l1_W, l2_W, l1_H,
    l2_H, sweeps_W, sweeps_H, δ², zero_below, ‖X‖², stop, tol, every, max_iter)``; ``state``
    is the ``tol`` rule's (:func:`nmf_numba._loop.tol_state`).  Each objective check writes
    ``(iteration, objective, data term)`` to a row of ``trace``.  Returns ``(iterations done,
    checks written, whether the tol rule was met)``."""
    (solver, beta, gamma_, l1_W, l2_W, l1_H, l2_H, sweeps_W, sweeps_H, delta_sq, zero_below,
     sq_norm, stop, tol, every, max_iter) = fixed
    n_iter, n_checks, converged = n_done, 0, False
    violation_too = stop == _SKLEARN and solver == CD  # scikit-learn's rule reads it
    while n_iter < n_until:
        v_W, _, _ = _half_step(op, W, Ht, solver, beta, gamma_, l1_W, l2_W, sweeps_W,
                               delta_sq, zero_below, violation_too)
        v_H, XtW, WtW = _half_step(op_t, Ht, W, solver, beta, gamma_, l1_H, l2_H, sweeps_H,
                                   delta_sq, zero_below, violation_too)
        n_iter += 1
        violation = v_W + v_H if violation_too else np.nan
        if not (n_iter % every == 0 or n_iter >= max_iter
                or (not np.isnan(violation) and tol > 0)):
            continue
        if beta == 2.0:
            data_term = _half_sq_error(op, W, Ht, sq_norm, XtW, WtW)
        else:
            s1, s2, s3, n_entries = _beta_sums(op, W, Ht, beta, EPSILON)
            data_term = divergence_from_terms(s1, s2, s3, beta, n_entries)
        f = data_term + elastic_net_value(W, l1_W, l2_W) + elastic_net_value(Ht, l1_H, l2_H)
        trace[n_checks, 0] = n_iter
        trace[n_checks, 1] = f
        trace[n_checks, 2] = data_term
        n_checks += 1
        if not np.isfinite(f):
            break
        converged = tol_reached(stop, tol, n_iter, f, data_term, violation, np.nan, state)
        if converged or pause:
            break
    return n_iter, n_checks, converged


def _fixed(fit, W, Ht, rule, max_iter):
    """:func:`iterate`'s ``fixed`` tuple for a validated fit."""
    solver = SOLVER_CODES[fit.solver.name]
    sweeps_W = sweeps_H = 1
    if solver == HALS:
        sweeps_W = max_sweeps(fit.data.X_op, W, Ht)
        sweeps_H = max_sweeps(fit.data.Xt_op, Ht, W)
    beta = float(fit.beta)
    return (solver, beta, float(gamma(beta)), float(fit.penalty_W.l1), float(fit.penalty_W.l2),
            float(fit.penalty_H.l1), float(fit.penalty_H.l2), int(sweeps_W), int(sweeps_H),
            float(DELTA * DELTA) if solver == HALS else 0.0,
            float(_TINY if beta <= 1 else 0.0), float(fit.data.sq_norm), int(rule.code),
            float(rule.tol), int(rule.every), int(max_iter))


def _begin(fit, W, Ht, rule, progress):
    """The start of a run: its history (the objective at the start) and whether there is
    nothing to improve."""
    data_init, f_init = fit.terms(W, Ht)
    f_init = check_finite(f_init, 0, fit.data)
    history = {"iteration": [], "time": [], "objective": []}
    _record(history, progress, 0, rule.elapsed(), f_init)
    return history, rule.start(f_init, data_init, None)


def _record_trace(history, progress, trace, n_checks, n_before, n_done, t_before, t_after,
                  data):
    """The objective checks of a chunk into the history, their times interpolated over the
    chunk's (the trace stops at a non-finite objective: only the last can be one)."""
    if not n_checks:
        return
    checks = trace[:n_checks]
    check_finite(checks[-1, 1], int(checks[-1, 0]), data)
    share = (checks[:, 0] - n_before) / max(n_done - n_before, 1)
    _record_many(history, progress, checks[:, 0].astype(np.int64),
                 t_before + (t_after - t_before) * share, checks[:, 1])


def _end(fit, W, Ht, n_iter, reason, history):
    """The loop's :class:`~nmf_numba._loop.Outcome`, its losses evaluated at the factors."""
    data_loss, loss = fit.terms(W, Ht)
    data_loss = check_finite(data_loss, n_iter, fit.data)
    return Outcome(n_iter, reason or "max_iter", history, data_loss, loss)


def _trace_rows(rule, max_iter):
    """Rows enough for the objective checks of ``max_iter`` iterations."""
    return max_iter if rule.every == 1 else max_iter // rule.every + 1


def run(fit, W, Ht, rule, max_iter, progress):
    """Iterate a validated fit in compiled chunks (``W``, ``Ht`` in place); returns the loop's
    :class:`nmf_numba._loop.Outcome`, as :func:`nmf_numba._loop.run` does for an engine."""
    data = fit.data
    history, done = _begin(fit, W, Ht, rule, progress)
    n_iter, reason = 0, "tol" if done else None  # "tol": nothing to improve
    op, op_t = operators(data)
    fixed = _fixed(fit, W, Ht, rule, max_iter)
    pause = rule.callback is not None
    seconds = CHUNK_SECONDS if rule.time_limit is None else TIME_LIMIT_CHUNK
    chunk = _chunk(fit, seconds)
    while reason is None and n_iter < max_iter:
        n_before, n_until = n_iter, min(max_iter, n_iter + chunk)
        trace = np.empty((min(n_until - n_iter, _trace_rows(rule, max_iter)), 3))
        t_before = rule.elapsed()
        n_iter, n_checks, converged = iterate(op, op_t, W, Ht, fixed, rule.state, trace,
                                              n_before, n_until, pause)
        t_after = rule.elapsed()
        progress.update(n_iter - n_before)
        _record_trace(history, progress, trace, n_checks, n_before, n_iter, t_before, t_after,
                      data)
        # judged at the chunk's end, the time its last check is recorded with
        out_of_time = rule.time_limit is not None and t_after >= rule.time_limit
        checked = n_checks > 0 and trace[n_checks - 1, 0] == n_iter
        if not checked and out_of_time:  # the Python loop checks an iteration out of time
            data_term, f = fit.terms(W, Ht)
            f = check_finite(f, n_iter, data)
            _record(history, progress, n_iter, rule.elapsed(), f)
            converged = tol_reached(rule.code, float(rule.tol), n_iter, float(f),
                                    float(data_term), np.nan, np.nan, rule.state)
            checked = True
        if checked:
            f, elapsed, at = history["objective"][-1], history["time"][-1], n_iter
            reason = rule.after_check(
                converged, out_of_time,
                lambda: IterationInfo(at, elapsed, f, W.copy(), Ht.T.copy()))
        chunk = min(_chunk(fit, seconds, (t_after - t_before, n_iter - n_before)),
                    2 * chunk + 1)
    return _end(fit, W, Ht, n_iter, reason, history)


def batchable(fit):
    """Whether a fit's runs can go through :func:`run_many`: the compiled loop without a
    callback, a time limit or a progress bar."""
    return (supports(fit) and fit.callback is None and fit.time_limit is None
            and not fit.verbose)


@njit(parallel=True, nogil=True, cache=CACHE)
def _iterate_many(ops, ops_t, Ws, Hts, fixeds, states, traces, n_done, n_until, out):
    """:func:`iterate` for each problem, iterations ``n_done[i] + 1 .. n_until[i]``, the
    problems side by side over Numba's threads (each on one thread, so its arithmetic is the
    single call's); ``out[i]`` receives ``(iterations done, checks written, tol met)``."""
    for p in prange(len(ops)):
        i = np.int64(p)  # typed lists take signed indices
        n_iter, n_checks, converged = iterate(ops[i], ops_t[i], Ws[i], Hts[i], fixeds[i],
                                              states[i], traces[i], n_done[i], n_until[i],
                                              False)
        out[i, 0] = n_iter
        out[i, 1] = n_checks
        out[i, 2] = converged


def run_many(fits, Ws, Hts, rules):
    """Run validated fits (each :func:`batchable`, ``Ws[i]``/``Hts[i]`` in place) side by
    side; returns their :class:`~nmf_numba._loop.Outcome` s, each equal to what :func:`run`
    returns for that fit alone (the same iterations: chunks do not change them).  The fits
    go in rounds of about :data:`ROUND_SECONDS` (Ctrl-C is handled between rounds); the
    history's times are the rounds' times spread over their iterations."""
    from ._loop import _NoProgress

    progress = _NoProgress()
    histories, outcomes, groups = [], [None] * len(fits), {}
    with serial_blas():  # small fits: the objectives at the start and end too (as nmf())
        for i, (fit, W, Ht, rule) in enumerate(zip(fits, Ws, Hts, rules)):
            history, done = _begin(fit, W, Ht, rule, progress)
            histories.append(history)
            if done:  # nothing to improve
                outcomes[i] = _end(fit, W, Ht, 0, "tol", history)
            else:  # one compiled call per kind of data: dense/CSR/observed, dtypes
                X = fit.data.X_op.X
                groups.setdefault((fit.data.sparse, fit.data.X_op.observed_only, X.dtype,
                                   X.indices.dtype if fit.data.sparse else None), []).append(i)
        for members in groups.values():
            _rounds(members, fits, Ws, Hts, rules, histories, outcomes, progress)
    return outcomes


def _rounds(members, fits, Ws, Hts, rules, histories, outcomes, progress):
    """The fits ``members`` (of one kind of data) in rounds until each has stopped."""
    ops, ops_t = (List(ops) for ops in zip(*(operators(fits[i].data) for i in members)))
    max_iter = np.array([fits[i].max_iter for i in members], dtype=np.int64)
    lists = [List(values) for values in (
        [Ws[i] for i in members], [Hts[i] for i in members],
        [_fixed(fits[i], Ws[i], Hts[i], rules[i], fits[i].max_iter) for i in members],
        [rules[i].state for i in members])]
    n_done = np.zeros(len(members), dtype=np.int64)
    stopped = np.zeros(len(members), dtype=bool)
    # a round's iterations: about ROUND_SECONDS for the threads' share of the largest problem
    threads = numba.get_num_threads()
    chunk = max(1, min(_chunk(fits[i], ROUND_SECONDS) for i in members) * threads
                // max(1, len(members)))
    while not stopped.all():
        n_until = np.where(stopped, n_done, np.minimum(max_iter, n_done + chunk))
        traces = List([np.empty((max(int(n_until[row] - n_done[row]), 1), 3))
                       for row in range(len(members))])
        out = np.zeros((len(members), 3), dtype=np.int64)
        t_before = rules[members[0]].elapsed()
        with numba.parallel_chunksize(1):
            _iterate_many(ops, ops_t, *lists, traces, n_done, n_until, out)
        t_after = rules[members[0]].elapsed()
        for row, i in enumerate(members):
            if stopped[row]:
                continue
            n_iter, n_checks, converged = (int(v) for v in out[row])
            _record_trace(histories[i], progress, traces[row], n_checks, int(n_done[row]),
                          n_iter, t_before, t_after, fits[i].data)
            n_done[row] = n_iter
            if converged or n_iter >= max_iter[row]:
                stopped[row] = True
                outcomes[i] = _end(fits[i], Ws[i], Hts[i], n_iter,
                                   "tol" if converged else None, histories[i])
        elapsed = max(t_after - t_before, 1e-9)
        chunk = max(1, min(int(chunk * ROUND_SECONDS / elapsed), 2 * chunk + 1))
