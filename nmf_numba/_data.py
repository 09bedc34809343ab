"""The per-format data operator the solvers see.

A fit holds the data twice, as ``X`` (m×n) and as ``Xᵀ`` (n×m), each wrapped in an operator with
the same small interface, so that one solver half-step serves both factors::

    op.shape, op.dtype
    op.times(B)                      -> X B                      (rows×k)
    op.mu_products(A, B, beta, eps)  -> (num, den) of a β-divergence MU step, β ≠ 2
    op.kl_products_measured(A, B, eps)
                                     -> (num, den, D_KL(X | A Bᵀ)): β = 1, the objective of
                                        the pair on the way
    op.beta_terms(A, B, beta, eps)   -> stored-entry and all-entry sums of D_β(X | A Bᵀ)
    op.residual_sq(A, B)             -> ‖X − A Bᵀ‖²_F, accurate in float64
    op.normal_equations(B)           -> the least-squares system of A in X ≈ A Bᵀ (β = 2):
                                        SharedGram (complete data) or RowGrams (observed only)
    op.kl_newton_sweep(A, B, l1, l2, n, eps, free=None)
                                     -> a coordinate-Newton KL sweep on A (in place), ‖∇ᴾ‖²;
                                        ``free``: the columns of A it may change
    op.sq_norm                       -> ‖X‖²_F
    op.n_stored                      -> entries a product X B visits (m·n dense, nnz CSR)
    op.n_entries                     -> entries the loss counts (m·n, or the observed ones)
    op.observed_only                 -> True for ObservedOp: only stored entries count (for
                                        the layers above the solvers; solvers never ask)

``A`` (rows×k) and ``B`` (cols×k) are the tall factors: ``X ≈ A Bᵀ``.  Everything that knows about
scipy.sparse lives here or above; the kernels see plain arrays.
"""

import functools

import numpy as np
import scipy.sparse as sp

from ._threads import settings as thread_settings
from .kernels import csr as csr_k
from .kernels import dense as dense_k
from .kernels.graph import hals_graph_sweep
from .losses import projected_sq

# Rows of a dense model block A Bᵀ formed at once (bounds temporaries to ~32 MB of float64).
_BLOCK_ELEMENTS = 1 << 22


def _pick(kernel, serial, n_entries):
    """``kernel``, or its serial twin for fewer than ``settings.small_problem`` entries (waking
    Numba's thread pool costs more than such a pass)."""
    return serial if n_entries < thread_settings.small_problem else kernel


def _row_blocks(n_rows, n_cols):
    step = max(1, _BLOCK_ELEMENTS // max(1, n_cols))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def free_part(A, free):
    """The columns of ``A`` that a half-step may change (``free``: a boolean array over them,
    see :class:`nmf_numba.solvers.Penalty`), as a C-contiguous copy; ``A`` itself when
    ``free`` is None (every column), so that a fit without fixed components runs on exactly
    the arrays it always did."""
    return A if free is None else np.ascontiguousarray(A[:, free])


def put_free(A, A_free, free):
    """Write the free columns ``A_free`` (from :func:`free_part`) back into ``A``."""
    if free is not None:
        A[:, free] = A_free


class SharedGram:
    """The least-squares system of ``A`` in ``X ≈ A Bᵀ`` when every row of ``A`` sees the same
    Gram matrix (complete data): ``XB = X B`` and ``G = BᵀB``.  Penalties (an elastic net, a
    graph on the rows, fixed components) are applied as they are asked for, so one system
    serves any penalty."""

    def __init__(self, XB, G):
        self.XB, self.G = XB, G
        self.products = (XB, G)

    def model_times(self, A):
        """``(A Bᵀ) B = A G``."""
        return np.dot(A, self.G)

    def subproblem(self, A, penalty):
        """``(A_U, c, Q)``: the penalised least-squares problem ``min_{A_U ≥ 0} ½ tr(A_U Q
        A_Uᵀ) − ⟨c, A_U⟩`` over the columns ``U`` of ``A`` that ``penalty.free`` lets move.

        With fixed columns ``F`` the data term is ``½‖(X − A_F B_Fᵀ) − A_U B_Uᵀ‖²``, so
        ``c = (X B − l1)[:, U] − A_F G[F, U]`` and ``Q = (G + l2·I)[U, U]``: the fixed columns
        move to the right-hand side, and every least-squares solver (a HALS sweep, exact NNLS,
        projected gradient) solves its usual problem, smaller.  A coordinate sweep on it
        visits the free coordinates only, with gradients that include the fixed columns, and
        NNLS solves the free block exactly.  ``A_U`` is a copy (write it back with
        :func:`put_free`); without fixed columns this is ``(A, X B − l1, G + l2·I)``, no copy."""
        XB, G = penalty.least_squares(self.XB, self.G)
        free = penalty.free
        if free is None:
            return A, XB, G
        fixed = ~free
        c = XB[:, free] - np.dot(A[:, fixed], G[np.ix_(fixed, free)])
        return (free_part(A, free), np.ascontiguousarray(c),
                np.ascontiguousarray(G[np.ix_(free, free)]))

    def pgrad_sq(self, A, penalty):
        """``‖∇ᴾ_A‖²`` of ``½‖X − A Bᵀ‖²`` plus the penalty (``∇ = A G − X B``, shifted by
        the elastic net and ``λ L A`` for a graph), over the free columns."""
        XB, G = penalty.least_squares(self.XB, self.G)
        grad = np.dot(A, G) - XB
        if penalty.graph is not None:
            grad = grad + penalty.graph.reg * penalty.graph.laplacian_times(A)
        return projected_sq(A, grad, penalty.free)

    def sweeps(self, A, penalty, max_sweeps=1, delta=0.0, order=None):
        """Coordinate-descent (HALS) sweeps over the free columns of ``A`` (in place): up to
        ``max_sweeps``, stopping once a sweep changes ``A`` by at most ``delta`` times what the
        first one changed it (in Frobenius norm).  ``order``: the columns' order (default
        0..k−1; fixed columns in it are skipped).  Returns scikit-learn's violation of the
        first sweep (the sum of ``|∇ᴾ|`` met at each free coordinate; None with a graph)."""
        A_free, XB, G = self.subproblem(A, penalty)
        free = penalty.free
        if free is not None and order is not None:  # the free columns' places in A_free
            order = (np.cumsum(free) - 1)[order[free[order]]]
        graph = penalty.graph
        if order is not None:  # sweep the columns put in the order, then put them back
            A_perm = np.ascontiguousarray(A_free[:, order])
            violation = self._sweeps(A_perm, np.ascontiguousarray(G[np.ix_(order, order)]),
                                     np.ascontiguousarray(XB[:, order]), graph, max_sweeps,
                                     delta)
            A_free[:, order] = A_perm
        else:
            violation = self._sweeps(A_free, G, XB, graph, max_sweeps, delta)
        put_free(A, A_free, free)
        return violation

    @staticmethod
    def _sweeps(A, G, XB, graph, max_sweeps, delta):
        if graph is None:  # every sweep in one kernel call
            sums = dense_k.hals_sweeps(A, G, XB, max_sweeps, float(delta) * float(delta))
            return float(sums.sum(axis=0)[1])
        first, violation = _sweep(A, G, XB, graph)
        for _ in range(max_sweeps - 1):
            if first == 0.0 or _sweep(A, G, XB, graph)[0] <= delta * delta * first:
                break
        return violation


def _sweep(A, G, XB, graph):
    """One HALS sweep on ``A`` (in place): ``(‖A_new − A_old‖²_F, violation)``.  With a graph
    the rows of a column are coupled and the sweep runs serially (its violation is None);
    otherwise rows go in parallel."""
    if graph is None:
        change, violation = dense_k.hals_sweep(A, G, XB).sum(axis=0)
        return float(change), float(violation)
    data, indices, indptr = graph.arrays
    return hals_graph_sweep(A, G, XB, data, indices, indptr, graph.degrees, graph.reg), None


class RowGrams:
    """The least-squares system of ``A`` in ``X ≈ A Bᵀ`` on observed-only data: row ``i`` sees
    the Gram matrix of the rows of B at its observed entries.  The Gram matrices are formed
    row by row inside the sweep kernel, never all at once."""

    products = None  # no shared Gram matrix: the objective is evaluated from the data

    def __init__(self, op, B):
        self.op, self.B = op, B

    @functools.cached_property
    def XB(self):
        """``X B`` over the observed entries (formed when first asked for)."""
        return self.op.times(self.B)

    def model_times(self, A):
        """``(M ⊙ A Bᵀ) B`` with M the observed pattern."""
        return self.op.model_times(A, self.B)

    def pgrad_sq(self, A, penalty):
        """``∇ = (M ⊙ (A Bᵀ − X)) B + l1 + l2·A``, projected (over the free columns)."""
        return projected_sq(A, penalty.add_to_denominator(self.model_times(A), A) - self.XB,
                            penalty.free)

    def sweeps(self, A, penalty, max_sweeps=1, delta=0.0, order=None):
        """``max_sweeps`` HALS sweeps per row on its own Gram matrix (formed once per row; the
        ``delta`` rule and ``order`` apply to shared Gram matrices only).  Returns None (no
        violation).

        With fixed columns ``F`` (``penalty.free``) the sweeps run on the free columns ``U``
        against the observed residual ``x_ij − a_F,i·b_F,j``: the same subproblem as
        :meth:`SharedGram.subproblem`, each row with its own Gram matrix."""
        free = penalty.free
        if free is None:
            self.op.masked_hals(A, self.B, penalty.l1, penalty.l2, max_sweeps)
            return None
        fixed = ~free
        residual = self.op.X.data - self.op.model_at_stored(A[:, fixed], self.B[:, fixed])
        A_free = free_part(A, free)
        self.op.masked_hals(A_free, free_part(self.B, free), penalty.l1, penalty.l2,
                            max_sweeps, data=residual)
        put_free(A, A_free, free)
        return None


def kl_data_term(terms):
    """``D_KL = Σ x log(x/v) − Σ x + Σ v`` from those three sums (as
    :func:`nmf_numba.losses.divergence`, never below 0)."""
    s1, s2, model_sum = terms
    return max(float(s1) - float(s2) + float(model_sum), 0.0)


class DenseOp:
    """A dense C-contiguous matrix in one orientation."""

    def __init__(self, X):
        self.X = X
        self.shape = X.shape
        self.dtype = X.dtype
        self.n_stored = X.size
        self.n_entries = X.size
        self.observed_only = False
        self._cols = np.arange(X.shape[1])  # the column index of each entry of a row
        self.sq_norm = float(_pick(dense_k.sum_sq, dense_k.sum_sq_serial, X.size)(
            X.ravel()).sum())

    def times(self, B):
        return np.dot(self.X, B)

    def mu_products(self, A, B, beta, eps):
        dt = self.dtype.type
        P = np.dot(A, B.T)
        need_den = beta != 1
        D = np.empty_like(P) if need_den else np.empty((0, 0), P.dtype)
        dense_k.mu_ratio(self.X, P, D, dt(beta), dt(eps), need_den)
        num = np.dot(P, B)
        if need_den:
            den = np.dot(D, B)
        else:
            den = np.repeat(B.sum(axis=0)[None, :], A.shape[0], axis=0)
        return num, den

    def kl_products_measured(self, A, B, eps):
        """``(num, den, D_KL(X | A Bᵀ))``: the KL MU step's products and, from the same
        model, the divergence at the pair it was given (see :func:`kl_data_term`)."""
        P = np.dot(A, B.T)
        terms = np.empty((self.shape[0], 3))
        dense_k.kl_ratio_measured(self.X, P, self.dtype.type(eps), terms)
        num = np.dot(P, B)
        den = np.repeat(B.sum(axis=0)[None, :], A.shape[0], axis=0)
        return num, den, kl_data_term(terms.sum(axis=0))

    def beta_terms(self, A, B, beta, eps):
        s = np.zeros(3)
        kernel = _pick(dense_k.beta_terms, dense_k.beta_terms_serial, self.n_stored)
        for rows in _row_blocks(*self.shape):
            P = np.dot(A[rows], B.T)
            s += kernel(self.X[rows], P, float(beta), float(eps)).sum(axis=0)
        return tuple(s)

    def kl_newton_sweep(self, A, B, l1, l2, max_newton, eps, free=None):
        """The sweep visits the free columns of A only (``free``; None: all); the model it
        keeps current, ``A Bᵀ``, includes the fixed ones."""
        P = np.dot(A, B.T)
        pgrad_sq = np.empty(self.shape[0])
        A_free, B_free = free_part(A, free), free_part(B, free)
        colsum = B_free.sum(axis=0, dtype=np.float64)
        dense_k.kl_newton_sweep(
            self.X, P, A_free, B_free, colsum, self._cols, l1, l2, max_newton, eps, pgrad_sq
        )
        put_free(A, A_free, free)
        return float(pgrad_sq.sum())

    def normal_equations(self, B):
        return SharedGram(self.times(B), np.dot(B.T, B))

    def residual_sq(self, A, B):
        total = 0.0
        kernel = _pick(dense_k.residual_sq, dense_k.residual_sq_serial, self.n_stored)
        for rows in _row_blocks(*self.shape):
            total += float(kernel(self.X[rows], np.dot(A[rows], B.T)).sum())
        return total


class CsrOp:
    """A canonical CSR matrix (sorted, no duplicates) in one orientation."""

    def __init__(self, X):
        self.X = X
        self.shape = X.shape
        self.dtype = X.dtype
        self.n_stored = X.nnz
        self.n_entries = X.shape[0] * X.shape[1]
        self.observed_only = False
        self.args = (X.data, X.indices, X.indptr)
        self.sq_norm = float(_pick(dense_k.sum_sq, dense_k.sum_sq_serial, X.nnz)(
            X.data).sum())

    def times(self, B):
        out = np.empty((self.shape[0], B.shape[1]), dtype=B.dtype)
        csr_k.spmm(*self.args, B, out)
        return out

    def mu_products(self, A, B, beta, eps):
        dt = self.dtype.type
        num = np.empty_like(A)
        csr_k.mu_ratio_times(*self.args, A, B, dt(beta), dt(eps), num)
        if beta == 1:
            den = np.repeat(B.sum(axis=0)[None, :], A.shape[0], axis=0)
        else:
            # Σ_j (a_i·b_j)^(β−1) b_j runs over every entry, zero or not: done in row blocks
            # with BLAS, never holding more than one block of the model.
            den = np.empty_like(A)
            for rows in _row_blocks(*self.shape):
                P = np.dot(A[rows], B.T)
                dense_k.pow_rows(P, dt(beta - 1), dt(eps), beta < 1)
                np.dot(P, B, out=den[rows])
        return num, den

    def _kl_stored_measured(self, A, B, eps):
        """The KL numerator and the sums ``(Σ x log(x/v), Σ x, Σ v)`` over the stored
        entries, from one pass."""
        num = np.empty_like(A)
        terms = np.empty((self.shape[0], 3))
        csr_k.kl_ratio_times_measured(*self.args, A, B, self.dtype.type(eps), num, terms)
        return num, terms.sum(axis=0)

    def kl_products_measured(self, A, B, eps):
        """As :meth:`DenseOp.kl_products_measured`, over the stored entries (Σ of the model
        over every entry from the factors' column sums)."""
        num, (s1, s2, _) = self._kl_stored_measured(A, B, eps)
        colsum = B.sum(axis=0)
        model_sum = float(np.dot(A.sum(axis=0, dtype=np.float64), colsum.astype(np.float64)))
        den = np.repeat(colsum[None, :], A.shape[0], axis=0)
        return num, den, kl_data_term((s1, s2, model_sum))

    def beta_terms(self, A, B, beta, eps):
        kernel = _pick(csr_k.beta_terms, csr_k.beta_terms_serial, self.n_stored)
        s1, s2 = kernel(*self.args, A, B, float(beta), float(eps)).sum(axis=0)
        if beta == 1:
            s3 = float(np.dot(A.sum(axis=0, dtype=np.float64), B.sum(axis=0, dtype=np.float64)))
        elif beta == 0:
            s3 = 0.0
        else:
            s3 = 0.0
            for rows in _row_blocks(*self.shape):
                P = np.dot(A[rows], B.T).astype(np.float64)
                s3 += float(np.sum(P**beta))
        return s1, s2, s3

    def normal_equations(self, B):
        return SharedGram(self.times(B), np.dot(B.T, B))

    def model_at_stored(self, A, B):
        """``(A Bᵀ)_ij`` at the stored entries, in ``X.data``'s order."""
        P = np.empty_like(self.X.data)
        csr_k.model_stored(*self.args, np.ascontiguousarray(A), np.ascontiguousarray(B), P)
        return P

    def kl_newton_sweep(self, A, B, l1, l2, max_newton, eps, free=None):
        """As :meth:`DenseOp.kl_newton_sweep`, the model at the stored entries only."""
        P = self.model_at_stored(A, B)
        pgrad_sq = np.empty(self.shape[0])
        A_free, B_free = free_part(A, free), free_part(B, free)
        colsum = B_free.sum(axis=0, dtype=np.float64)
        csr_k.kl_newton_sweep(*self.args, P, A_free, B_free, colsum, l1, l2, max_newton, eps,
                              pgrad_sq)
        put_free(A, A_free, free)
        return float(pgrad_sq.sum())

    def residual_sq(self, A, B):
        kernel = _pick(csr_k.residual_terms, csr_k.residual_terms_serial, self.n_stored)
        stored, model_stored = kernel(*self.args, A, B).sum(axis=0)
        A64, B64 = A.astype(np.float64, copy=False), B.astype(np.float64, copy=False)
        model = float(np.vdot(A64.T @ A64, B64.T @ B64))
        return float(stored + max(model - model_stored, 0.0))


class ObservedOp(CsrOp):
    """Observed-only, optionally weighted data: a CSR matrix whose stored entries (explicit
    zeros included) are the entries that count, each with its weight ``w > 0``; every other
    entry has weight 0 (missing) and does not count.  The loss is ``Σ_stored w·d_β(x | v)``.

    ``weights``: an array aligned with ``X.data`` (X's dtype), or None for weight 1 everywhere
    stored — NaN entries, ``mask=`` and ``missing="unobserved"`` are this case, and their
    kernels then run exactly the arithmetic of the unweighted code (``weights`` reaches the
    kernels as an empty array).  The model ``A Bᵀ`` is only ever evaluated at the stored
    entries, so every cost scales with them.

    Products that are linear in ``x`` (``X B``, the MU numerator) take ``w ⊙ x`` as their data
    (``self.wargs``, formed once); the Gram matrices, the denominators and the losses take the
    weights themselves."""

    def __init__(self, X, weights=None):
        super().__init__(X)
        self.observed_only = True
        self.weights = weights
        if weights is None:
            self.n_entries = X.nnz
            self._w = np.empty(0, X.dtype)  # the kernels' "every weight is 1"
            self.wargs = self.args
        else:
            self.n_entries = float(weights.sum(dtype=np.float64))  # β = 0's count: Σ w
            self._w = weights
            self.wargs = (weights * X.data, X.indices, X.indptr)
            self.sq_norm = float(np.dot(weights.astype(np.float64),
                                        X.data.astype(np.float64) ** 2))  # Σ w x²

    def times(self, B):
        """``(W ⊙ X) B`` over the stored entries."""
        out = np.empty((self.shape[0], B.shape[1]), dtype=B.dtype)
        csr_k.spmm(*self.wargs, B, out)
        return out

    def normal_equations(self, B):
        return RowGrams(self, B)

    def _weight_sums(self, B):
        """``Σ_{j stored} w_ij b_j`` per row, in B's dtype: the KL denominator."""
        w = np.ones_like(self.X.data) if self.weights is None else self.weights
        w = w.astype(B.dtype, copy=False)
        den = np.empty((self.shape[0], B.shape[1]), dtype=B.dtype)
        csr_k.spmm(w, self.X.indices, self.X.indptr, B, den)
        return den

    def model_times(self, A, B, beta=2.0, eps=0.0):
        """``(W ⊙ (A Bᵀ)^(β−1)) B`` with W the weights on the stored pattern (the MU
        denominator)."""
        P = np.empty_like(self.X.data)
        csr_k.model_stored(*self.args, A, B, P)
        if beta != 2:
            dt = self.dtype.type
            dense_k.pow_rows(P[:, None], dt(beta - 1), dt(eps), beta < 1)
        if self.weights is not None:
            P *= self.weights
        out = np.empty_like(A)
        csr_k.spmm(P, self.X.indices, self.X.indptr, B, out)
        return out

    def mu_products(self, A, B, beta, eps):
        """``num = (W ⊙ X ⊙ (A Bᵀ)^(β−2)) B`` (the ratio is linear in x, so the kernel runs
        on ``w ⊙ x``) and ``den = (W ⊙ (A Bᵀ)^(β−1)) B``."""
        dt = self.dtype.type
        num = np.empty_like(A)
        csr_k.mu_ratio_times(*self.wargs, A, B, dt(beta), dt(eps), num)
        if beta == 1:  # Σ_{j observed} w_ij b_j
            return num, self._weight_sums(B)
        return num, self.model_times(A, B, beta, eps)

    def kl_products_measured(self, A, B, eps):
        """As :meth:`CsrOp.kl_products_measured`; the model counts at the stored entries only.
        Weighted: the products and the divergence in two passes (the fused kernel's sums
        are unweighted)."""
        if self.weights is not None:
            s1, s2, s3 = self.beta_terms(A, B, 1.0, eps)
            num, den = self.mu_products(A, B, 1.0, eps)
            return num, den, kl_data_term((s1, s2, s3))
        num, terms = self._kl_stored_measured(A, B, eps)
        return num, self._weight_sums(B), kl_data_term(terms)

    def beta_terms(self, A, B, beta, eps):
        if self.weights is not None:
            s1, s2, s3 = csr_k.weighted_beta_terms(*self.args, self.weights, A, B, float(beta),
                                                   float(eps)).sum(axis=0)
            return s1, s2, s3
        s1, s2 = csr_k.beta_terms(*self.args, A, B, float(beta), float(eps)).sum(axis=0)
        s3 = 0.0 if beta == 0 else float(
            csr_k.stored_power_sum(*self.args, A, B, float(beta), float(eps)).sum())
        return s1, s2, s3

    def residual_sq(self, A, B):
        """``Σ_stored w (x − v)²``."""
        if self.weights is not None:
            return float(csr_k.weighted_residual(*self.args, self.weights, A, B).sum())
        return float(csr_k.residual_terms(*self.args, A, B)[:, 0].sum())

    def kl_newton_sweep(self, A, B, l1, l2, max_newton, eps, free=None):
        """The KL coordinate-Newton sweep on the stored entries: each row's linear term is
        the weighted sum of the rows of B at its entries (not B's column sums); ``free`` as in
        :meth:`DenseOp.kl_newton_sweep` (the model keeps the fixed columns)."""
        P = self.model_at_stored(A, B)
        A_free, B_free = free_part(A, free), free_part(B, free)
        colsums = self._weight_sums(B_free.astype(np.float64))
        pgrad_sq = np.empty(self.shape[0])
        csr_k.kl_newton_sweep_rows(*self.wargs, P, A_free, B_free, colsums, l1, l2, max_newton,
                                   eps, pgrad_sq)
        put_free(A, A_free, free)
        return float(pgrad_sq.sum())

    def masked_hals(self, A, B, l1, l2, n_sweeps, data=None):
        """Per-row HALS sweeps on A (``csr_k.masked_hals_rows``: each row's Gram matrix of its
        stored entries, weighted) against the stored values, or against ``data`` at the same
        entries (a residual, for fixed components)."""
        change = np.empty(self.shape[0])
        values = self.X.data if data is None else data
        csr_k.masked_hals_rows(values, self.X.indices, self.X.indptr, self._w, A, B, float(l1),
                               float(l2), n_sweeps, change)
        return float(change.sum())


def observed_matrix(X, observed):
    """The observations as canonical CSR: ``X``'s values (zeros included) where ``observed``
    (a boolean dense array or a sparse pattern) is true; for sparse X without ``observed``, its
    stored entries."""
    if observed is None:
        return X
    coo = sp.coo_matrix(observed)
    rows, cols = coo.row[coo.data != 0], coo.col[coo.data != 0]
    if sp.issparse(X):
        values = np.asarray(X[rows, cols]).ravel().astype(X.dtype)
    else:
        values = X[rows, cols]
    O = sp.csr_matrix((values, (rows, cols)), shape=X.shape, dtype=X.dtype)
    O.sum_duplicates()
    return O


# Above this many entries, weights over every entry of X (a sparse weights matrix with
# missing="zero": absent = 1) are refused rather than held entry by entry (12 bytes each).
DENSE_WEIGHTS_LIMIT = 1 << 27


def weighted_entries(X, observed, weights, sample_weight):
    """The entries a weighted fit counts: ``(X_fit, w, observed_only)``.

    ``X`` is validated (dense with NaN set to 0, or canonical CSR); ``observed`` is
    :func:`nmf_numba._validation.check_observed`'s pattern (None, a boolean array, a sparse
    pattern, or True for ``missing="unobserved"``); ``weights`` None, a dense (m, n) float64
    array or canonical CSR (validated); ``sample_weight`` None or an (m,) float64 array.

    * ``missing="unobserved"`` (``observed is True``): the entries X stores count, each with
      its weight (a sparse weights matrix: 0 where it stores nothing);
    * otherwise every entry of X counts (0 where a sparse X stores nothing) unless it is
      missing (NaN, outside a mask), with weight ``weights[i, j]`` (a sparse weights matrix:
      1 where it stores nothing, so it is held densely: refused beyond
      :data:`DENSE_WEIGHTS_LIMIT` entries);
    * ``sample_weight[i]`` multiplies the weights of row i.

    Weight-0 entries are dropped.  ``X_fit`` is canonical CSR of the counted entries (X's
    values, zeros explicit) and ``w`` their weights in X's dtype, aligned with ``X_fit.data``;
    ``w`` is None when every weight is 1 (a 0/1 weights array is a mask, and runs as one).
    When every entry counts with weight 1, ``(X, None, False)``: the plain fit."""
    m, n = X.shape
    if observed is True:  # missing="unobserved": X's stored entries, row-major
        counts = np.diff(X.indptr)
        rows, cols = np.repeat(np.arange(m), counts), X.indices.astype(np.int64)
        values = X.data
        if weights is None:
            w = np.ones(rows.size)
        elif sp.issparse(weights):
            w = np.asarray(weights[rows, cols], dtype=np.float64).ravel()
        else:
            w = weights[rows, cols]
    else:
        if sp.issparse(weights):  # absent = 1: every entry has a weight
            if m * n > DENSE_WEIGHTS_LIMIT:
                raise ValueError(
                    f"weights: a sparse weights matrix with missing='zero' gives weight 1 to "
                    f"every entry it does not store, so all {m}×{n} entries count and are held "
                    f"one by one (more than {DENSE_WEIGHTS_LIMIT} entries). Pass "
                    "missing='unobserved' (absent = weight 0) or a dense weights array.")
            full = np.ones((m, n))
            coo = weights.tocoo()
            full[coo.row, coo.col] = coo.data
            weights = full
        if weights is not None:
            keep = weights > 0
            if isinstance(observed, np.ndarray):  # NaN entries
                if np.any(keep & ~observed):
                    raise ValueError("X is NaN at entries whose weight is > 0: give them weight "
                                     "0, e.g. np.where(np.isnan(X), 0, weights).")
            rows, cols = np.nonzero(keep)
        elif observed is None:
            rows, cols = np.divmod(np.arange(m * n, dtype=np.int64), n)
        elif isinstance(observed, np.ndarray):
            rows, cols = np.nonzero(observed)
        else:  # a sparse mask (with sample_weight only: weights and mask are exclusive)
            pattern = sp.csr_matrix(observed, dtype=bool)
            pattern.sum_duplicates()
            pattern.eliminate_zeros()
            coo = pattern.tocoo()
            rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
        if sp.issparse(X) and rows.size == m * n:  # every entry counts, zeros included
            if m * n > DENSE_WEIGHTS_LIMIT:
                raise ValueError(
                    f"weights/sample_weight make every entry of the sparse X count ({m}×{n}, "
                    f"more than {DENSE_WEIGHTS_LIMIT} entries held one by one). Pass "
                    "missing='unobserved' (only the stored entries count), or sample_weight "
                    "alone without a penalty on W (it then scales X's rows and stays sparse).")
            coo = X.tocoo()  # the counted values, one per entry in row-major order
            values = np.zeros(m * n, dtype=X.dtype)
            values[coo.row.astype(np.int64) * n + coo.col] = coo.data
            values = values[rows * n + cols]
        elif sp.issparse(X):
            values = np.asarray(X[rows, cols]).ravel()
        else:
            values = X[rows, cols]
        w = np.ones(rows.size) if weights is None else weights[rows, cols]
    if sample_weight is not None:
        w = w * sample_weight[rows]
    keep = w > 0
    if not keep.all():
        rows, cols, values, w = rows[keep], cols[keep], values[keep], w[keep]
    if rows.size == 0:
        raise ValueError("Every weight is zero (weights, sample_weight, missing entries): there "
                         "is nothing to fit.")
    w = w.astype(X.dtype)
    if np.all(w == 1):
        w = None
        if observed is None and rows.size == m * n:
            return X, None, False
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=m), out=indptr[1:])
    index_dtype = np.int32 if max(m, n, rows.size) < 2**31 - 1 else np.int64
    X_fit = sp.csr_matrix((np.asarray(values, dtype=X.dtype), cols.astype(index_dtype),
                           indptr.astype(index_dtype)), shape=(m, n))
    return X_fit, w, True


def transposed_entries(X):
    """``(Xᵀ as canonical CSR, perm)`` with ``Xᵀ.data = X.data[perm]``: arrays aligned with
    X's entries (the weights) follow the transpose through ``perm``."""
    index = sp.csr_matrix((np.arange(1, X.nnz + 1, dtype=np.int64), X.indices, X.indptr),
                          shape=X.shape)
    index_t = index.T.tocsr()
    index_t.sort_indices()
    perm = index_t.data - 1
    return sp.csr_matrix((X.data[perm], index_t.indices, index_t.indptr),
                         shape=(X.shape[1], X.shape[0])), perm


class Data:
    """The data of one fit: the operator for ``X`` and the one for ``Xᵀ``, built once.

    ``observed_only``: X is canonical CSR whose stored entries are the observations (see
    :class:`ObservedOp`), ``weights`` (aligned with ``X.data``, or None: all 1) their
    weights."""

    def __init__(self, X, observed_only=False, weights=None):
        if observed_only and weights is not None:
            Xt, perm = transposed_entries(X)
            self.X_op = ObservedOp(X, weights)
            self.Xt_op = ObservedOp(Xt, weights[perm])
        elif observed_only:
            self.X_op = ObservedOp(X)
            Xt = X.T.tocsr()
            Xt.sort_indices()
            self.Xt_op = ObservedOp(Xt)
        elif sp.issparse(X):
            self.X_op = CsrOp(X)
            Xt = X.T.tocsr()
            Xt.sort_indices()
            self.Xt_op = CsrOp(Xt)
        else:
            self.X_op = DenseOp(X)
            self.Xt_op = DenseOp(np.ascontiguousarray(X.T))
        self.shape = X.shape
        self.dtype = X.dtype
        self.sq_norm = self.X_op.sq_norm
        self.sparse = sp.issparse(X)
        values = X.data if self.sparse else X  # validated non-negative: max is max |x|
        self.max_abs = float(values.max()) if values.size else 0.0
