"""NMF of a Dask array: the package's solvers, with the work on X done where X's blocks live.

:func:`nmf_numba.nmf` comes here when ``X`` is a ``dask.array.Array``; nothing else changes for
the user, and the result's ``W`` is a Dask array chunked by rows like X (``H`` is NumPy, k×n).
The data flow is MPI-FAUN's one-dimensional row distribution (Kannan, Ballard & Park 2016):

* X is split into row blocks ``X_b`` (column chunks are merged first: each task needs whole
  rows).  Each block's data operator (``X_b`` and its transpose) is built once and stays in the
  memory of the worker that holds the block, next to that block's rows ``W_b`` of W.
* One iteration is one task per block and one reduction.  A block's task updates ``W_b`` from
  ``X_b``, ``H`` and ``H Hᵀ`` (the W half-step only needs the block's own rows), then forms its
  share of the H half-step's products: ``X_bᵀ W_b`` and ``W_bᵀ W_b`` for β = 2, or the
  multiplicative update's numerator and denominator sums for other β.  A tree reduction adds
  the shares; the client updates H (k×n) with the same half-step code as :func:`nmf_numba.nmf`
  and sends H and ``H Hᵀ`` out for the next iteration.  Nothing with m rows ever reaches the
  client: one blocking round trip per iteration, of O(n·k) data per block.
* The objective for the stopping rule is reduced the same way.  For β = 2 it comes from the
  reduced products (as on one machine); for other β each block adds its part of ``D_β`` in the
  task of the following iteration, so a check at iteration t is decided one round trip later
  (the extra iteration is then discarded: the result is the state at t, as on one machine).

Solvers: ``mu`` for every β; ``cd`` and ``hals`` for β = 2 (``auto``: ``hals`` for β = 2, else
``mu``).  ``hals`` bounds its repeated sweeps with the whole problem's costs, and applies its
early-stop rule (a sweep that changes the factor little) per block, so its iterates differ from
one machine's; those of ``cd`` and ``mu`` agree to rounding (the H half-step's products are sums
over blocks, added in another order than one machine's).  Initialisations: ``random`` (W drawn per
block, from seeds spawned from ``random_state``), ``nndsvd``/``nndsvda``/``auto`` (from a
distributed randomized SVD: the range finder's tall products run per block and are
orthonormalised by ``dask.array.linalg.tsqr``), and a custom ``(W0, H0)`` (W0 a NumPy or Dask
array, re-chunked like X).  L1/L2 penalties (``alpha_W``, ``alpha_H``, ``l1_ratio``),
``max_iter``, ``tol``, ``time_limit``, ``callback`` and ``verbose`` work as in :func:`nmf`.

``accelerate=True`` runs Ang & Gillis's extrapolation as :func:`nmf_numba.nmf` does
(:class:`nmf_numba._engine.ExtrapolatedRun`: the same β rule and projection) for β = 2 with the
solvers whose record has ``extrapolate`` (``cd``, ``hals``); ``"auto"`` is off on Dask for now.
Each block keeps its rows of the plain iterate, the state and the extrapolated W; the client
keeps H's.  It is still one round trip per iteration: the client's verdict on a pair (accepted
or rejected) travels to the blocks with the next round's task, and the last verdict is applied
in the round that computes the final objective, so the result is the state that the history
ends with.  Cost: O((m+n)·k) more work per iteration, and two more m×k arrays on the blocks.

Scheduling is Dask's: any scheduler works (the threaded one by default, or a
``dask.distributed`` Client's cluster).  Dask owns the parallelism, so inside a task the Numba
kernels and the BLAS run on one thread; give workers as many threads (or processes) as cores.

When would a two-dimensional layout pay?  Per iteration each block sends back O(n·k) numbers
and receives H (n·k): with p blocks the reduction moves O(p·n·k).  That is small next to the
O(nnz·k / p) work per block as long as n is much smaller than nnz/p per block; for matrices with
as many columns as rows and few entries per row (n·k per block comparable to the block's
entries) a 2-D grid (MPI-FAUN's 2-D variant) would cut the communication to O((m+n)·k/√p).
"""

import functools
import time

import numpy as np
import scipy.sparse as sp

from . import _validation, solvers
from ._data import Data
from ._engine import Momentum, extrapolate
from ._loop import Stopping, build_result, progress_bar, run, warn_if_max_iter
from ._random import as_rng, draw_seeds
from ._threads import single_threaded
from .init import NNDSVD_EPS, check_n_components, nndsvd_pairs
from .losses import EPSILON, divergence, frobenius_from_parts
from .solvers import HalfStep, hals, mu
from .solvers._common import scaled_penalties

__all__ = ["nmf", "is_dask_array"]

INITS = ("auto", "random", "nndsvd", "nndsvda")
_SVD_OVERSAMPLES = 10
_SVD_POWER_ITERATIONS = 4
_FAN_IN = 8  # parts summed per node of a reduction tree


def is_dask_array(X):
    """True for a ``dask.array.Array`` (without importing Dask when it is not in use)."""
    import sys

    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(X, dask_array.Array)


def _import_dask():
    try:
        import dask
        import dask.array as da
    except ImportError as err:  # pragma: no cover - dask is present whenever X is a dask array
        raise ImportError("NMF on Dask arrays needs dask: pip install 'nmf-numba[dask]'") from err
    return dask, da


# --------------------------------------------------------------------------------------------
# what runs on the workers (plain functions of NumPy / SciPy data: picklable, no state)
# --------------------------------------------------------------------------------------------


class _Block:
    """One row block on its worker: the data operators of ``X_b`` and ``X_bᵀ``."""

    def __init__(self, X_b, beta):
        X_b, nan_entries = _validation.check_data_with_nan(X_b)
        if nan_entries is not None:
            raise ValueError("X has NaN entries: missing values are not supported for a Dask "
                             "array. Compute X (X.compute()) to fit it on one machine, where "
                             "NaN entries are missing values.")
        _validation.check_zeros_for_beta(X_b, beta)
        self.data = Data(X_b)
        self.rows = X_b.shape[0]
        self.total = float(X_b.sum(dtype=np.float64))

    def stats(self):
        """What the client needs once: Σx, ‖X_b‖², max|x|, stored entries."""
        data = self.data
        return np.array([self.total, data.sq_norm, data.max_abs, data.X_op.n_stored])


def _make_block(X_b, beta):
    return _Block(X_b, beta)


def _block_stats(block):
    return block.stats()


def _single_threaded(func, *args):
    """``func(*args)`` with the kernels and the BLAS on one thread: Dask runs the tasks in
    parallel."""
    with single_threaded():
        return func(*args)


def _add(a, b):
    """Element-wise sum of two tuples of arrays / floats / None (the reduction's node)."""
    return tuple(None if x is None else x + y for x, y in zip(a, b))


def _random_block(block, k, avg, seed, dtype):
    rng = np.random.default_rng(seed)
    return np.abs(avg * rng.standard_normal((block.rows, k))).astype(dtype)


def _custom_block(W_b, rows, k, dtype):
    return _validation.check_factor(np.asarray(W_b), (rows, k), dtype, "init W0").copy()


def _iteration_task(block, W_b, Ht, G_H, spec, evaluate):
    """One iteration's work on a block: ``(new W_b, partial sums for the client)``.

    ``evaluate``: also return the data term and W penalty of the incoming state (the objective
    the loop asked for, computed on the way instead of in a round of its own)."""
    solver, beta, penalty_W, n_sweeps = spec
    op, op_t = block.data.X_op, block.data.Xt_op
    W_b = W_b.copy()  # the input future may be reused (the round may be dropped)
    before = _evaluate_task(block, W_b, Ht, spec) if evaluate else None
    # the W half-step, exactly as nmf() does it on the block's rows
    if beta == 2:
        solver.from_products(W_b, op.times(Ht), G_H, penalty_W, n_sweeps)
    else:
        mu.update(op, W_b, Ht, beta, penalty_W)
    # this block's share of the H half-step's products
    if beta == 2:
        shares = (op_t.times(W_b), np.dot(W_b.T, W_b), None)
    elif beta == 1:  # the denominator is the column sums of W, whatever H: send k numbers
        num, _ = op_t.mu_products(Ht, W_b, 1.0, EPSILON)
        shares = (num, None, W_b.sum(axis=0))
    else:
        num, den = op_t.mu_products(Ht, W_b, beta, EPSILON)
        shares = (num, den, None)
    return W_b, (before, shares, penalty_W.value(W_b))


def _extrapolated_task(block, rows, H_hat, G_hat, spec, evaluate, beta, accepted, Ht):
    """One extrapolated iteration's work on a block (β = 2; see :class:`_DaskExtrapolatedRun`):
    ``((W_k, state, Ŵ), partial sums for the client)``.

    ``rows`` is the block's ``(W_k, state, Ŵ)`` after the previous round.  ``accepted`` is the
    client's verdict on that round's pair (None: there was none): True makes ``Ŵ`` the state,
    False restarts the plain iterate from the state.  Then the W half-step against ``Ĥ``
    (``H_hat``, with ``G_hat = ĤᵀĤ``), the extrapolation ``Ŵ``, and Ŵ's share of the H
    half-step's products.  ``evaluate``: also the data term and W penalty of the state, at the
    client's state ``Ht``.  The input arrays are never written: the new ones are fresh."""
    solver, _, penalty_W, n_sweeps = spec
    op, op_t = block.data.X_op, block.data.Xt_op
    W_k, state, W_hat = rows
    if accepted:  # the candidate pair became the state
        state = W_hat
    elif accepted is not None:  # rejected: the plain iterate restarts from the state
        W_k = state
    before = _evaluate_task(block, state, Ht, spec) if evaluate else None
    W_next = W_k.copy()
    solver.from_products(W_next, op.times(H_hat), G_hat, penalty_W, n_sweeps)
    W_hat = extrapolate(W_next, W_k, beta, out=np.empty_like(W_next))
    shares = (op_t.times(W_hat), np.dot(W_hat.T, W_hat), None)
    return (W_next, state, W_hat), (before, shares, penalty_W.value(W_hat))


def _first_rows(W_b):
    """A block's ``(W_k, state, Ŵ)`` at the start: the plain iterate is the state."""
    return W_b, W_b, None


def _state_rows(rows, accepted):
    """The block's rows of the state once the client's last verdict is applied."""
    return rows[2] if accepted else rows[1]


def _evaluate_task(block, W_b, Ht, spec):
    solver, beta, penalty_W, _ = spec
    return divergence(block.data.X_op, W_b, Ht, beta), penalty_W.value(W_b)


def _reduce_parts(combine, *parts):
    return functools.reduce(combine, parts)


def _combine(a, b):
    """Reduction node for the iteration partials ``(before, shares, w_penalty)``."""
    before = None if a[0] is None else _combine_pairs(a[0], b[0])
    return before, _add(a[1], b[1]), a[2] + b[2]


def _combine_pairs(a, b):
    return a[0] + b[0], a[1] + b[1]


def _nndsvd_column_norms(U_b):
    """Squared norms of the positive and negative parts of each column of ``U_b``."""
    pos = np.maximum(U_b, 0)
    neg = np.minimum(U_b, 0)
    return np.stack([np.einsum("ij,ij->j", pos, pos), np.einsum("ij,ij->j", neg, neg)])


def _nndsvd_block(U_b, scale, use_negative, fill, eps, dtype):
    """W_b of NNDSVD from the block's rows of U: per component the chosen sign part, scaled
    (the leading component: its absolute value)."""
    W = np.where(use_negative, np.abs(np.minimum(U_b, 0)), np.maximum(U_b, 0)) * scale
    W[:, 0] = np.abs(U_b[:, 0]) * scale[0]
    W[W < eps] = 0
    if fill is not None:
        W[W == 0] = fill
    return W.astype(dtype)


def _times_task(block, B):
    return block.data.X_op.times(B)


def _transposed_times_task(block, Q_b):
    """``X_bᵀ Q_b`` (n×l)."""
    return block.data.Xt_op.times(np.ascontiguousarray(Q_b, dtype=block.data.dtype))


# --------------------------------------------------------------------------------------------
# the client side
# --------------------------------------------------------------------------------------------


class _Cluster:
    """The persisted blocks and the helpers that build one round of tasks over them."""

    def __init__(self, X, beta):
        dask, da = _import_dask()
        self.dask, self.da = dask, da
        self.delayed = dask.delayed
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D dask array, got {X.ndim} dimension(s).")
        if any(np.isnan(c) for c in X.shape) or any(np.isnan(c) for cs in X.chunks for c in cs):
            raise ValueError("X has unknown chunk sizes (NaN): call X.compute_chunk_sizes() "
                             "first.")
        if 0 in X.shape:
            raise ValueError(f"X is empty: shape {X.shape}.")
        if len(X.chunks[1]) > 1:  # every task needs whole rows
            X = X.rechunk({1: -1})
        self.shape = X.shape
        self.row_chunks = X.chunks[0]
        meta = getattr(X, "_meta", None)
        self.sparse = sp.issparse(meta)
        self.dtype = np.dtype(X.dtype) if np.dtype(X.dtype) in (np.float32, np.float64) \
            else np.dtype(np.float64)
        make = self.delayed(_make_block, pure=True)
        self.blocks = list(dask.persist(*[make(x, beta) for x in X.to_delayed().ravel()]))
        stats = self._tree([self.delayed(_block_stats)(b) for b in self.blocks], np.add)
        (totals,) = dask.compute(stats)
        self.total, self.sq_norm, self.max_abs, self.n_stored = totals
        self.mean = self.total / (self.shape[0] * self.shape[1])

    def _tree(self, parts, combine):
        """Reduction tree of delayed ``parts`` with the binary ``combine``: each node sums up
        to ``_FAN_IN`` parts (one level up to that many blocks: every level is a hop between
        workers and the scheduler, which costs more than the additions)."""
        node = self.delayed(_reduce_parts, pure=True)
        while len(parts) > 1:
            parts = [node(combine, *parts[i:i + _FAN_IN]) if len(parts[i:i + _FAN_IN]) > 1
                     else parts[i] for i in range(0, len(parts), _FAN_IN)]
        return parts[0]

    def as_dask_array(self, W_blocks, k):
        da = self.da
        return da.concatenate([
            da.from_delayed(w, shape=(rows, k), dtype=self.dtype)
            for w, rows in zip(W_blocks, self.row_chunks)
        ])

    def iteration(self, W_blocks, Ht, G_H, spec, evaluate, func=_iteration_task, extra=()):
        """One round: the new W blocks (persisted) and the reduced partials (on the client).
        ``func(block, W_b, Ht, G_H, spec, evaluate, *extra)`` is the task run per block."""
        task = self.delayed(_single_threaded, nout=2, pure=True)
        Ht_d, G_d = self.delayed(Ht), self.delayed(G_H)  # sent once, shared by every task
        outs = [task(func, b, w, Ht_d, G_d, spec, evaluate, *extra)
                for b, w in zip(self.blocks, W_blocks)]
        new_W = [o[0] for o in outs]
        total = self._tree([o[1] for o in outs], _combine)
        persisted = self.dask.persist(*new_W, total)
        (partials,) = self.dask.compute(persisted[-1])
        return list(persisted[:-1]), partials

    def evaluate(self, W_blocks, Ht, spec):
        task = self.delayed(_single_threaded, pure=True)
        Ht_d = self.delayed(Ht)
        total = self._tree([task(_evaluate_task, b, w, Ht_d, spec)
                            for b, w in zip(self.blocks, W_blocks)], _combine_pairs)
        (value,) = self.dask.compute(total)
        return value

    def map_blocks(self, func, *args, persist=True):
        """``func(block, *args)`` on every block, persisted (delayed list)."""
        task = self.delayed(_single_threaded, pure=True)
        out = [task(func, b, *args) for b in self.blocks]
        return list(self.dask.persist(*out)) if persist else out


# --------------------------------------------------------------------------------------------
# initialisation
# --------------------------------------------------------------------------------------------


def _initialize(cluster, k, init, random_state):
    m, n = cluster.shape
    dtype = cluster.dtype
    if isinstance(init, tuple):
        return _custom_init(cluster, k, init)
    if not isinstance(init, str) or init not in INITS:
        raise ValueError(f"Invalid init {init!r} for a Dask array: use one of {list(INITS)} or "
                         "a tuple (W0, H0).")
    if init == "auto":
        init = "nndsvda" if k <= min(m, n) else "random"
    seeds = np.random.SeedSequence(_entropy(random_state)).spawn(len(cluster.blocks) + 1)
    if init == "random":
        avg = np.sqrt(cluster.mean / k)
        rng = np.random.default_rng(seeds[0])
        H = np.abs(avg * rng.standard_normal((k, n))).astype(dtype)
        W_blocks = [
            cluster.delayed(_random_block, pure=True)(b, k, avg, s, dtype)
            for b, s in zip(cluster.blocks, seeds[1:])
        ]
        return list(cluster.dask.persist(*W_blocks)), H
    if k > min(m, n):
        raise ValueError(f"init={init!r} needs n_components <= min(n_samples, n_features) = "
                         f"{min(m, n)}, got {k}. Use init='random' for more components.")
    return _nndsvd(cluster, k, seeds[0], fill=cluster.mean if init == "nndsvda" else None)


def _entropy(random_state):
    """The entropy of the blocks' seed sequence: an int seed itself, else one seed drawn by the
    package's random_state rule (:mod:`nmf_numba._random`)."""
    if random_state is None or (isinstance(random_state, (int, np.integer))
                                and not isinstance(random_state, (bool, np.bool_))):
        return None if random_state is None else int(random_state)
    return int(draw_seeds(random_state, 1)[0])


def _custom_init(cluster, k, init):
    if len(init) != 2:
        raise ValueError("A custom init must be a tuple (W0, H0).")
    m, n = cluster.shape
    W0, H0 = init
    H = _validation.check_factor(H0, (k, n), cluster.dtype, "init H0").copy()
    if is_dask_array(W0):
        if W0.shape != (m, k):
            raise ValueError(f"init W0 has shape {W0.shape}, expected {(m, k)}.")
        W0 = W0.rechunk((cluster.row_chunks, k))
        parts = W0.to_delayed().ravel()
    else:
        W0 = _validation.check_factor(W0, (m, k), cluster.dtype, "init W0")
        bounds = np.cumsum((0,) + tuple(cluster.row_chunks))
        parts = [W0[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    W_blocks = [
        cluster.delayed(_custom_block, pure=True)(w, rows, k, cluster.dtype)
        for w, rows in zip(parts, cluster.row_chunks)
    ]
    return list(cluster.dask.persist(*W_blocks)), H


def _nndsvd(cluster, k, seed, fill):
    """NNDSVD (Boutsidis & Gallopoulos 2008) from a randomized SVD (Halko, Martinsson & Tropp
    2011) whose tall products run on the blocks."""
    m, n = cluster.shape
    da = cluster.da
    ell = min(k + _SVD_OVERSAMPLES, min(m, n))
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, ell))
    Q = None
    for _ in range(_SVD_POWER_ITERATIONS + 1):
        Y_blocks = cluster.map_blocks(_times_task, Z.astype(cluster.dtype), persist=False)
        Y = da.concatenate([da.from_delayed(y, shape=(rows, ell), dtype=cluster.dtype)
                            for y, rows in zip(Y_blocks, cluster.row_chunks)])
        Q, _ = da.linalg.tsqr(Y.astype(np.float64))
        Q = Q.persist()
        Q_parts = Q.to_delayed().ravel()
        task = cluster.delayed(_single_threaded, pure=True)
        # Xᵀ Q = Σ_b X_bᵀ Q_b; B = Qᵀ X is its transpose
        (XtQ,) = cluster.dask.compute(cluster._tree(
            [task(_transposed_times_task, b, q) for b, q in zip(cluster.blocks, Q_parts)],
            np.add))
        Z, _ = np.linalg.qr(XtQ.astype(np.float64))
    # the last Xᵀ Q is Bᵀ for the SVD of B = Qᵀ X (ell×n)
    Ub, S, Vt = np.linalg.svd(XtQ.T.astype(np.float64), full_matrices=False)
    U = Q @ Ub[:, :k]  # m×k, chunked like X
    S, V = S[:k], Vt[:k]
    # the sign choice of each component needs the norms of U's positive and negative parts
    norms = [cluster.delayed(_nndsvd_column_norms, pure=True)(u) for u in U.to_delayed().ravel()]
    (sq,) = cluster.dask.compute(cluster._tree(norms, np.add))
    x_p, x_n = np.sqrt(sq[0]), np.sqrt(sq[1])
    H, sign, lbd = nndsvd_pairs(S, V, x_p, x_n)
    use_negative = sign < 0
    # W_b's columns are λ_j times the chosen part of u_j normalised (the leading one: |u_0|)
    x_nrm = np.where(use_negative, x_n, x_p)
    scale = np.divide(lbd, x_nrm, out=np.zeros(k), where=(sign != 0) & (x_nrm > 0))
    scale[0] = lbd[0]
    eps = NNDSVD_EPS
    H[H < eps] = 0
    if fill is not None:
        H[H == 0] = fill
    W_blocks = [
        cluster.delayed(_nndsvd_block, pure=True)(u, scale, use_negative, fill, eps,
                                                  cluster.dtype)
        for u in U.to_delayed().ravel()
    ]
    return list(cluster.dask.persist(*W_blocks)), H.astype(cluster.dtype)


# --------------------------------------------------------------------------------------------
# the fit
# --------------------------------------------------------------------------------------------


class _DaskRun:
    """The engine of a run on a Dask cluster (see :mod:`nmf_numba._loop`): W in row blocks on
    the workers, Hᵀ on the client.

    An objective the loop asks for while the run goes on (``ahead``) is computed by the blocks
    in the next iteration's round, so it costs no round trip of its own; if the loop then
    stops, that round's work is dropped and the result is the state the objective was
    computed for."""

    def __init__(self, cluster, W_blocks, Ht, solver, beta, penalty_W, penalty_H):
        m, n = cluster.shape
        k = Ht.shape[1]
        self.cluster, self.W_blocks, self.Ht = cluster, W_blocks, Ht
        self.solver, self.beta, self.penalty_H = solver, beta, penalty_H
        # hals bounds its repeated sweeps with the whole problem's costs
        self.spec = (solver, beta, penalty_W, hals.sweep_bound(cluster.n_stored, m, n, k))
        self.n_sweeps_H = hals.sweep_bound(cluster.n_stored, n, m, k)
        self.max_abs, self.dtype = cluster.max_abs, cluster.dtype
        self.w_penalty = None
        self._next_round = None  # (W blocks, shares, W penalty) computed ahead
        self._evaluated = None   # (data term, W penalty) of the current factors

    def _round(self, evaluate):
        Ht = self.Ht
        W_blocks, (before, shares, w_penalty) = self.cluster.iteration(
            self.W_blocks, Ht, np.dot(Ht.T, Ht), self.spec, evaluate)
        return (W_blocks, shares, w_penalty), before

    def iteration(self):
        next_round, self._next_round = self._next_round, None
        if next_round is None:
            next_round, _ = self._round(evaluate=False)
        self.W_blocks, shares, self.w_penalty = next_round
        self._evaluated = None
        # the H half-step on the client from the reduced products, as nmf() does it
        Ht = self.Ht
        if self.beta == 2:
            XtW, WtW, _ = shares
            self.solver.from_products(Ht, XtW, WtW, self.penalty_H, self.n_sweeps_H)
            return HalfStep(), HalfStep((XtW, WtW))
        num, den, colsum = shares
        if self.beta == 1:
            den = np.repeat(colsum[None, :], Ht.shape[0], axis=0)
        mu.apply(Ht, num, self.penalty_H.add_to_denominator(den, Ht), self.beta)
        return HalfStep(), HalfStep()

    def terms(self, h_step, ahead=False):
        if h_step is not None and h_step.products is not None:  # β = 2: from the products
            XtW, WtW = h_step.products
            data_term = 0.5 * frobenius_from_parts(self.cluster.sq_norm, self.Ht, XtW, WtW)
            return data_term, data_term + self.w_penalty + self.penalty_H.value(self.Ht)
        if self._evaluated is None:
            if ahead:  # on the way, in the next iteration's round
                self._next_round, self._evaluated = self._round(evaluate=True)
            else:  # a round of its own
                self._evaluated = self.cluster.evaluate(self.W_blocks, self.Ht, self.spec)
        data_term, w_value = self._evaluated
        return data_term, data_term + w_value + self.penalty_H.value(self.Ht)

    def factors(self):
        return self.cluster.as_dask_array(self.W_blocks, self.Ht.shape[1]), self.Ht.T.copy()


class _DaskExtrapolatedRun(_DaskRun):
    """:class:`nmf_numba._engine.ExtrapolatedRun`'s scheme on a Dask cluster (β = 2).

    Each block keeps its rows of the plain iterate ``W_k``, of the state and of the
    extrapolated ``Ŵ``; the client keeps ``H_k``, ``H_{k−1}``, the state's H and the β rule
    (:class:`nmf_numba._engine.Momentum`).  One iteration is one round: the client sends
    ``Ĥ``, β and its verdict on the previous pair; each block applies the verdict, takes the W
    half-step against ``Ĥ``, extrapolates ``Ŵ`` and returns Ŵ's shares of the H half-step's
    products; the client takes the H half-step against Ŵ, whose products give the pair's
    objective, and judges the pair.  The blocks learn the verdict in the next round, so the
    state's W is read through it (:func:`_state_rows`), and the exact objective at the end is
    computed on those rows."""

    def __init__(self, cluster, W_blocks, Ht, solver, beta, penalty_W, penalty_H):
        super().__init__(cluster, W_blocks, Ht, solver, beta, penalty_W, penalty_H)
        self.W_blocks = None  # the state's W is in the blocks' rows below
        self.rows = [cluster.delayed(_first_rows, pure=True)(w) for w in W_blocks]
        self.accepted = None  # the client's verdict the blocks have not applied yet
        self._Ht, self._Ht_prev = Ht.copy(), Ht.copy()  # H_k, H_{k−1}: no momentum at first
        self.momentum = Momentum()
        self._best = None     # (data term, objective) of the state
        self._exact = False   # whether _best was evaluated at the state (not from products)
        self._settled = None  # the state's W blocks, persisted, once the verdict is applied

    @property
    def restarts(self):
        return self.momentum.restarts

    def _round(self, evaluate):
        beta = self.momentum.beta
        H_hat = extrapolate(self._Ht, self._Ht_prev, beta, out=np.empty_like(self._Ht))
        Ht = self.cluster.delayed(self.Ht.copy()) if evaluate else None
        rows, (before, shares, w_penalty) = self.cluster.iteration(
            self.rows, H_hat, np.dot(H_hat.T, H_hat), self.spec, evaluate,
            func=_extrapolated_task, extra=(beta, self.accepted, Ht))
        if evaluate:
            self._set_best(before)
        return (rows, shares, w_penalty), before

    def _set_best(self, evaluated):
        data_term, w_value = evaluated
        self._best = data_term, data_term + w_value + self.penalty_H.value(self.Ht)
        self._exact = True

    def iteration(self):
        next_round, self._next_round = self._next_round, None
        if next_round is None:
            next_round, _ = self._round(evaluate=self._best is None)
        self.rows, (XtW, WtW, _), w_penalty = next_round
        self._settled, self._exact = None, False
        # the H half-step against Ŵ on the client; the pair (Ŵ, H_{k+1}) is the candidate
        np.copyto(self._Ht_prev, self._Ht)
        self.solver.from_products(self._Ht, XtW, WtW, self.penalty_H, self.n_sweeps_H)
        data_term = 0.5 * frobenius_from_parts(self.cluster.sq_norm, self._Ht, XtW, WtW)
        candidate = data_term, data_term + w_penalty + self.penalty_H.value(self._Ht)
        self.accepted = self.momentum.judge(candidate[1] < self._best[1])
        if self.accepted:  # the blocks make Ŵ their state in the next round
            self.Ht[...] = self._Ht
            self._best = candidate
        else:  # keep the state and restart from it without momentum
            self._Ht[...] = self.Ht
            self._Ht_prev[...] = self.Ht
        return HalfStep(), HalfStep((XtW, WtW))

    def terms(self, h_step, ahead=False):
        if self._best is None and ahead:  # on the way, in the first iteration's round
            self._next_round, _ = self._round(evaluate=True)
        elif self._best is None or (h_step is None and not self._exact):
            # exactly, at the state (a round of its own): its W rows, persisted for the result
            self._settled = self._state_blocks(persist=True)
            self._set_best(self.cluster.evaluate(self._settled, self.Ht, self.spec))
        return self._best

    def _state_blocks(self, persist):
        if self._settled is not None:
            return self._settled
        pick = self.cluster.delayed(_state_rows, pure=True)
        blocks = [pick(r, self.accepted) for r in self.rows]
        return list(self.cluster.dask.persist(*blocks)) if persist else blocks

    def factors(self):
        W = self.cluster.as_dask_array(self._state_blocks(persist=False), self.Ht.shape[1])
        return W, self.Ht.T.copy()


def nmf(X, n_components=None, *, beta_loss="frobenius", solver="auto", init="auto",
        max_iter=200, tol=1e-4, alpha_W=0.0, alpha_H="same", l1_ratio=0.0, time_limit=None,
        callback=None, random_state=None, verbose=False, accelerate="auto", normalize=None,
        **unsupported):
    """:func:`nmf_numba.nmf` for a Dask array X (rows = samples); see the module docstring.

    ``normalize`` is :func:`nmf_numba.nmf`'s: W stays a Dask array (its column sums are
    computed once, its columns scaled and reordered lazily).

    The options :func:`nmf_numba.nmf` has beyond these (graphs, nsNMF, missing values, weights,
    restarts, other stopping rules, ``shuffle``) raise a ValueError that names them."""
    _reject_unsupported(unsupported)
    t_start = time.perf_counter()
    beta = _validation.check_beta_loss(beta_loss)
    record = solvers.check(solver, beta, dask=True)
    accelerate = _check_accelerate(accelerate, beta, record)
    max_iter, tol, time_limit, callback = _validation.check_loop(max_iter, tol, time_limit,
                                                                 callback)
    alpha_W, alpha_H, l1_ratio = _validation.check_regularization(alpha_W, alpha_H, l1_ratio)
    normalize = _validation.check_normalize(normalize)
    as_rng(random_state)  # the one random_state rule: its error before any work

    cluster = _Cluster(X, beta)
    _validation.check_magnitude(cluster.max_abs, cluster.sq_norm)
    k = check_n_components(n_components, cluster, init)
    penalty_W, penalty_H = scaled_penalties(cluster.shape, alpha_W, alpha_H, l1_ratio)
    W_blocks, H = _initialize(cluster, k, init, random_state)
    engine = (_DaskExtrapolatedRun if accelerate else _DaskRun)(
        cluster, W_blocks, np.ascontiguousarray(H.T), record, beta, penalty_W, penalty_H)
    rule = Stopping("objective", tol, beta, time_limit, callback, t_start)
    with progress_bar(verbose, max_iter, f"{record.name}, dask") as progress:
        outcome = run(engine, rule, max_iter, progress)
    warn_if_max_iter(outcome.stop_reason, max_iter, tol, "objective", stacklevel=4)  # past nmf()
    return build_result(engine.factors()[0], engine.Ht, outcome, beta, record.name,
                        accelerated=accelerate, normalize=normalize)


def _check_accelerate(accelerate, beta, solver):
    """``accelerate`` as a bool, worded as :func:`nmf_numba.nmf`'s check: on Dask it
    extrapolates the least-squares solvers (the records with ``extrapolate``) for β = 2."""
    accelerate = _validation.check_accelerate(accelerate)
    if accelerate == "auto":
        return solvers.auto_accelerate(solver, beta, dask=True)  # the one "auto" rule
    able = [s.name for s in solvers.SOLVERS.values() if s.extrapolate and s.dask_betas(2.0)]
    reason = ("is not supported for a Dask array: it extrapolates the least-squares solvers "
              "only. Use")
    if accelerate and beta != 2:
        raise ValueError(f"accelerate=True with beta_loss={beta:g} {reason} "
                         f"beta_loss='frobenius' with a solver in {able}.")
    if accelerate and not solver.extrapolate:
        raise ValueError(f"accelerate=True with solver={solver.name!r} {reason} a solver in "
                         f"{able}.")
    return accelerate


# nmf() options that the Dask path does not have, with the value that means "not used"
_SINGLE_MACHINE_ONLY = {
    "stop": "objective", "graph": None, "graph_reg": 0.0, "smoothness": 0.0, "n_init": 1,
    "mask": None, "missing": "zero", "shuffle": False, "weights": None, "sample_weight": None,
}


def _reject_unsupported(options):
    unknown = set(options) - set(_SINGLE_MACHINE_ONLY)
    if unknown:
        raise TypeError(f"nmf() got unexpected keyword arguments {sorted(unknown)}.")
    used = [name for name, value in options.items()
            if not _is_default(value, _SINGLE_MACHINE_ONLY[name])]
    if used:
        raise ValueError(
            f"{', '.join(used)}: not supported for a Dask array (the distributed path has the "
            "β-divergence losses, L1/L2 penalties and the objective stopping rule). Compute X "
            "(X.compute()) to use them on one machine.")


def _is_default(value, default):
    if default is None:
        return value is None
    if isinstance(default, str):
        return isinstance(value, str) and value == default
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False
