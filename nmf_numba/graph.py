"""k-nearest-neighbour affinity graphs for graph-regularised NMF.

:func:`knn_graph` builds the symmetric sparse weight matrix ``A`` of Cai, He, Han & Huang,
"Graph Regularized Nonnegative Matrix Factorization for Data Representation", IEEE TPAMI 33(8),
2011 (GNMF), whose Laplacian ``L = D − A`` (``D = diag(A·1)``) is the graph regulariser.

How the neighbours are found, in memory that does not grow like m²:

* the rows are processed in blocks of ``b = min(m, 2²³ // m)`` rows, i.e. one b×m float64
  buffer of at most 64 MB (so an m×m array only while m ≤ 2896); for each block the Gram
  products ``X_block Xᵀ`` come from BLAS (dense ``X``) or from a scatter kernel (CSR ``X``),
  and give the squared distances ``‖xi‖² + ‖xj‖² − 2 xi·xj``;
* these expanded distances are fast but inexact (cancellation), so they only *pre-select*: for row
  ``i`` every ``j`` within a rigorous rounding margin of the k-th smallest expanded distance is a
  candidate, and the candidates are re-ranked on ``Σ (xil − xjl)²`` computed from the
  differences.  Exact duplicates are therefore at distance exactly 0 and exact ties stay exact;
* ties are broken by the smaller column index (a stable sort), and ``i`` itself is excluded
  explicitly, so a sample is never its own neighbour even when it has duplicates.

The kernels follow the package's numba conventions (:mod:`nmf_numba._numba` options, one
``prange`` over independent rows, BLAS outside it); they live here rather than in
:mod:`nmf_numba.kernels` because nothing else uses them.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from ._numba import PARALLEL, SERIAL
from ._validation import check_data, check_real

__all__ = ["knn_graph", "WEIGHTS"]

WEIGHTS = ("binary", "heat", "cosine")

# Elements of the b×m float64 block buffer: 2**23 → 64 MB.  OpenBLAS needs a few hundred rows
# per block to amortise packing Xᵀ (b = 26 was 5× slower than b = 400 at m = 20000, n = 50).
# A module constant so that a test can shrink it to exercise many blocks on small inputs.
_BLOCK_ELEMENTS = 2**23

# Data whose largest entry lies outside [2**-300, 2**300] is rescaled by a power of two (exact)
# before squaring, so that squared norms neither overflow nor underflow.
_SAFE_EXP2 = 300


# --------------------------------------------------------------------------------------------
# kernels


@njit(inline="always", **SERIAL)
def _sqdist_dense(X, i, j):
    s = 0.0
    for t in range(X.shape[1]):
        d = X[i, t] - X[j, t]
        s += d * d
    return s


@njit(inline="always", **SERIAL)
def _dot_dense(X, i, j):
    s = 0.0
    for t in range(X.shape[1]):
        s += X[i, t] * X[j, t]
    return s


@njit(inline="always", **SERIAL)
def _sqdist_csr(data, indices, indptr, i, j):
    """``‖xi − xj‖²`` by merging two rows with sorted column indices, in column order (so the
    sum is bit-for-bit the dense one: the columns where both rows are 0 add exact zeros)."""
    p, p_end = indptr[i], indptr[i + 1]
    q, q_end = indptr[j], indptr[j + 1]
    s = 0.0
    while p < p_end and q < q_end:
        cp, cq = indices[p], indices[q]
        if cp == cq:
            d = data[p] - data[q]
            p += 1
            q += 1
        elif cp < cq:
            d = data[p]
            p += 1
        else:
            d = data[q]
            q += 1
        s += d * d
    while p < p_end:
        s += data[p] * data[p]
        p += 1
    while q < q_end:
        s += data[q] * data[q]
        q += 1
    return s


@njit(inline="always", **SERIAL)
def _dot_csr(data, indices, indptr, i, j):
    p, p_end = indptr[i], indptr[i + 1]
    q, q_end = indptr[j], indptr[j + 1]
    s = 0.0
    while p < p_end and q < q_end:
        cp, cq = indices[p], indices[q]
        if cp == cq:
            s += data[p] * data[q]
            p += 1
            q += 1
        elif cp < cq:
            p += 1
        else:
            q += 1
    return s


# The per-row work lives in serial functions that the parallel kernels call once per row, so
# numba's parfor passes see a plain call.  With everything inlined into the prange body the
# first compilation of knn_rows_dense took about 30 s (np.partition alone in a prange: 17 s),
# hence also the hand-written quickselect below; now it is a few seconds.

# Up to this k, one pass with a sorted k-buffer finds the k smallest expanded distances; above it
# a quickselect on a copy of the row (the buffer's insertions cost O(k) each).
_BUFFER_MAX_K = 64


@njit(**SERIAL)
def _kth_smallest(row, k):
    """The k-th smallest value of ``row`` (1-based k ≤ len(row)) by quickselect on a copy
    (median-of-three pivot, Hoare partition); ``row`` is not modified."""
    a = row.copy()
    lo, hi, t = 0, a.shape[0] - 1, k - 1
    while lo < hi:
        mid = (lo + hi) // 2
        x, y, z = a[lo], a[mid], a[hi]
        pivot = max(min(x, y), min(max(x, y), z))
        p, q = lo, hi
        while p <= q:
            while a[p] < pivot:
                p += 1
            while a[q] > pivot:
                q -= 1
            if p <= q:
                a[p], a[q] = a[q], a[p]
                p += 1
                q -= 1
        if t <= q:
            hi = q
        elif t >= p:
            lo = p
        else:
            return a[t]
    return a[t]


@njit(**SERIAL)
def _candidates(row, i, sq, tol, k):
    """Turn row i of the Gram block (``row``, overwritten) into expanded squared distances
    ``max(‖xi‖² + ‖xj‖² − 2 xi·xj, 0)`` (+inf at j = i) and return, in increasing order, the
    indices j that can be among the k nearest under the difference-form distance.

    ``tol[i] + tol[j]`` bounds the gap between the two forms for the pair (i, j).  Any k rows S
    with the smallest expanded distances have difference-form distance ≤ row[j] + tol[i] +
    tol[j], so the k-th smallest difference-form distance is at most U = max over S of that,
    and a j with row[j] − tol[i] − tol[j] > U cannot reach it.
    """
    m = row.shape[0]
    sq_i = sq[i]
    if k <= _BUFFER_MAX_K:  # one pass: distances and a sorted buffer of the k smallest
        buf_d = np.full(k, np.inf)
        buf_t = np.zeros(k)
        worst = np.inf
        for j in range(m):
            d = sq_i + sq[j] - 2.0 * row[j]
            d = d if d > 0.0 else 0.0
            if j == i:
                d = np.inf
            row[j] = d
            if d < worst:
                pos = k - 1
                while pos > 0 and buf_d[pos - 1] > d:
                    buf_d[pos] = buf_d[pos - 1]
                    buf_t[pos] = buf_t[pos - 1]
                    pos -= 1
                buf_d[pos] = d
                buf_t[pos] = tol[j]
                worst = buf_d[k - 1]
        top = 0.0
        for q in range(k):
            top = max(top, buf_d[q] + buf_t[q])
    else:
        for j in range(m):
            d = sq_i + sq[j] - 2.0 * row[j]
            row[j] = d if d > 0.0 else 0.0
        row[i] = np.inf
        kth = _kth_smallest(row, k)  # finite: k ≤ m − 1
        top = 0.0
        for j in range(m):
            if row[j] <= kth:
                top = max(top, row[j] + tol[j])
    bound = top + 2.0 * tol[i]
    # gather; the candidates are usually about k, so try a small array first
    cand = np.empty(min(m, 2 * k + 16), dtype=np.int64)
    c = 0
    for j in range(m):
        if row[j] - tol[j] <= bound:
            if c == cand.shape[0]:
                c = -1
                break
            cand[c] = j
            c += 1
    if c >= 0:
        return cand[:c]
    c = 0
    for j in range(m):
        if row[j] - tol[j] <= bound:
            c += 1
    cand = np.empty(c, dtype=np.int64)
    c = 0
    for j in range(m):
        if row[j] - tol[j] <= bound:
            cand[c] = j
            c += 1
    return cand


@njit(**SERIAL)
def _store_k_smallest(cand_d, cand_j, k, i, ind):
    """The k candidates with the smallest (distance, index): a stable sort of candidates that
    were gathered in increasing index."""
    order = np.argsort(cand_d, kind="mergesort")
    for q in range(k):
        ind[i, q] = cand_j[order[q]]


@njit(**SERIAL)
def _knn_row_dense(X, sq, tol, row, i, k, ind):
    cand = _candidates(row, i, sq, tol, k)
    cand_d = np.empty(cand.shape[0], dtype=np.float64)
    for c in range(cand.shape[0]):
        cand_d[c] = _sqdist_dense(X, i, cand[c])
    _store_k_smallest(cand_d, cand, k, i, ind)


@njit(**SERIAL)
def _knn_row_csr(data, indices, indptr, sq, tol, row, i, k, ind):
    cand = _candidates(row, i, sq, tol, k)
    cand_d = np.empty(cand.shape[0], dtype=np.float64)
    for c in range(cand.shape[0]):
        cand_d[c] = _sqdist_csr(data, indices, indptr, i, cand[c])
    _store_k_smallest(cand_d, cand, k, i, ind)


@njit(**PARALLEL)
def knn_rows_dense(X, sq, tol, G, start, k, ind):
    """Neighbour lists of rows ``start … start + G.shape[0] − 1`` of a dense float64 ``X``.

    On entry ``G = X[start:start+b] @ Xᵀ`` (overwritten); ``sq`` the squared row norms, ``tol``
    the per-row rounding allowances.  Writes ``ind[i, :k]``.
    """
    for r in prange(G.shape[0]):
        _knn_row_dense(X, sq, tol, G[r], start + r, k, ind)


@njit(**PARALLEL)
def knn_rows_csr(data, indices, indptr, sq, tol, G, start, k, ind):
    """:func:`knn_rows_dense` for a canonical CSR ``X`` given as ``(data, indices, indptr)``."""
    for r in prange(G.shape[0]):
        _knn_row_csr(data, indices, indptr, sq, tol, G[r], start + r, k, ind)


@njit(**PARALLEL)
def gram_rows_csr(data, indices, indptr, t_data, t_indices, t_indptr, start, G):
    """``G ← X[start:start+b] @ Xᵀ`` into a dense b×m block, for a CSR ``X`` and its transpose
    ``Xᵀ`` (also CSR: ``t_*``): each row scatters its entries' columns of ``Xᵀ`` (the sparse
    product, without building a sparse result that would then be densified)."""
    for r in prange(G.shape[0]):
        i = start + r
        for j in range(G.shape[1]):
            G[r, j] = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            v = data[p]
            col = indices[p]
            for q in range(t_indptr[col], t_indptr[col + 1]):
                G[r, t_indices[q]] += v * t_data[q]


@njit(**PARALLEL)
def row_sq_dense(X, out):
    """``out[i] = ‖xi‖²``, summed in column order like the pair kernels."""
    for i in prange(X.shape[0]):
        out[i] = _dot_dense(X, i, i)


@njit(**PARALLEL)
def row_sq_csr(data, indptr, out):
    """:func:`row_sq_dense` for CSR: the stored entries in column order (the dense sum adds
    exact zeros in between, so both give the same bits)."""
    for i in prange(indptr.shape[0] - 1):
        s = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            s += data[p] * data[p]
        out[i] = s


@njit(**PARALLEL)
def pair_values_dense(X, g_indptr, g_indices, want_dot, out):
    """For every stored (i, j) of the graph pattern: ``xi·xj`` if want_dot else ``‖xi − xj‖²``,
    always evaluated as f(min(i, j), max(i, j)) so that the result is exactly symmetric."""
    for i in prange(g_indptr.shape[0] - 1):
        for p in range(g_indptr[i], g_indptr[i + 1]):
            j = np.int64(g_indices[p])
            a, b = min(np.int64(i), j), max(np.int64(i), j)
            out[p] = _dot_dense(X, a, b) if want_dot else _sqdist_dense(X, a, b)


@njit(**PARALLEL)
def pair_values_csr(data, indices, indptr, g_indptr, g_indices, want_dot, out):
    """:func:`pair_values_dense` for a canonical CSR ``X``."""
    for i in prange(g_indptr.shape[0] - 1):
        for p in range(g_indptr[i], g_indptr[i + 1]):
            j = np.int64(g_indices[p])
            a, b = min(np.int64(i), j), max(np.int64(i), j)
            if want_dot:
                out[p] = _dot_csr(data, indices, indptr, a, b)
            else:
                out[p] = _sqdist_csr(data, indices, indptr, a, b)


# --------------------------------------------------------------------------------------------
# public API


def _check_params(n_neighbors, weight, sigma):
    if not isinstance(weight, str) or weight not in WEIGHTS:
        raise ValueError(f"Invalid weight {weight!r}: use one of {list(WEIGHTS)}.")
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, numbers.Integral):
        raise TypeError(f"n_neighbors must be an int >= 1, got {n_neighbors!r}.")
    if n_neighbors < 1:
        raise ValueError(f"n_neighbors must be an int >= 1, got {n_neighbors}.")
    if sigma is not None:
        if weight != "heat":
            raise ValueError(
                f"sigma is only used with weight='heat', got weight={weight!r} and "
                f"sigma={sigma!r}. Drop sigma or use weight='heat'."
            )
        sigma = check_real(sigma, "sigma", 0, strict=True)
        if not np.isfinite(sigma):
            raise ValueError(f"sigma must be finite, got {sigma}.")
    return int(n_neighbors), sigma


def _scaled_float64(X):
    """X as float64 (a copy only when needed) multiplied by 2**-e so that its largest entry is
    in [0.5, 1) when it is extreme (else e = 0).  Scaling by a power of two is exact."""
    if sp.issparse(X):
        nnz = int(X.indptr[-1])  # scipy allows unused trailing slots in data/indices
        data = np.array(X.data[:nnz], dtype=np.float64)  # always a fresh array
        vmax = float(data.max()) if nnz else 0.0
    else:
        vmax = float(X.max())
    e = 0
    if vmax > 2.0**_SAFE_EXP2 or 0.0 < vmax < 2.0**-_SAFE_EXP2:
        e = int(np.frexp(vmax)[1])
    if sp.issparse(X):
        if e:
            np.ldexp(data, -e, out=data)
        X64 = sp.csr_matrix((data, X.indices[:nnz], X.indptr), shape=X.shape)
        return X64, e
    if e:
        return np.ldexp(X.astype(np.float64), -e), e
    return np.ascontiguousarray(X, dtype=np.float64), e


def _row_sq(X64):
    sq = np.empty(X64.shape[0], dtype=np.float64)
    if sp.issparse(X64):
        row_sq_csr(X64.data, X64.indptr, sq)
    else:
        row_sq_dense(X64, sq)
    return sq


def _neighbours(X64, k):
    """(m, k) int64 indices of each row's k nearest other rows, ties to the smaller index."""
    m, n = X64.shape
    sparse = sp.issparse(X64)
    sq = _row_sq(X64)
    # Rounding allowance: both the expanded form and the difference form of ‖xi − xj‖² are
    # within about 2(n + 2)·u·(‖xi‖² + ‖xj‖²) of the true value (sums of n products, any order;
    # Cauchy-Schwarz bounds |xi·xj|), so tol[i] + tol[j] with 4× headroom bounds their gap.
    u = np.finfo(np.float64).eps / 2
    tol = (16.0 * (n + 8) * u) * sq
    ind = np.empty((m, k), dtype=np.int64)
    b = max(1, min(m, _BLOCK_ELEMENTS // m))
    G = np.empty((b, m), dtype=np.float64)
    if sparse:
        XT = X64.T.tocsr()
    for start in range(0, m, b):
        stop = min(start + b, m)
        Gb = G[: stop - start]
        if sparse:
            gram_rows_csr(X64.data, X64.indices, X64.indptr, XT.data, XT.indices, XT.indptr,
                          start, Gb)
            knn_rows_csr(X64.data, X64.indices, X64.indptr, sq, tol, Gb, start, k, ind)
        else:
            np.matmul(X64[start:stop], X64.T, out=Gb)
            knn_rows_dense(X64, sq, tol, Gb, start, k, ind)
    return ind


def knn_graph(X, n_neighbors=5, weight="binary", sigma=None):
    """Symmetric k-nearest-neighbour affinity matrix of the rows of ``X`` (GNMF's ``W``).

    Sample ``i`` (row ``i`` of ``X``) is joined to its ``n_neighbors`` nearest other samples in
    Euclidean distance, and the graph is symmetrised as in Cai et al. (2011):
    ``A[i, j] = w(xi, xj)`` if ``j ∈ N_k(i)`` **or** ``i ∈ N_k(j)``, else 0 — the elementwise
    maximum of the directed kNN matrix and its transpose.  Every row therefore has at least
    ``n_neighbors`` edges (before dropping zero weights, see below), some have more.

    Parameters
    ----------
    X : array-like or scipy.sparse matrix, shape (m, n)
        Samples in rows.  Non-negative and finite, as everywhere in this package (the same
        checks and messages as :func:`nmf_numba.nmf`); any sparse format is converted to CSR.
        Never modified.
    n_neighbors : int, default 5
        ``k``, between 1 and ``m − 1``.  A sample is never its own neighbour, also when ``X``
        holds exact duplicates of it (they are neighbours at distance 0).  Ties in distance are
        broken in favour of the smaller row index; distances are ranked on ``Σ (xil − xjl)²``
        computed in float64 from the differences (see the module docstring), so exact
        duplicates and exact ties are recognised as such.
    weight : {"binary", "heat", "cosine"}, default "binary"
        * ``"binary"``: ``w = 1`` (the paper's 0-1 weighting).
        * ``"heat"``: ``w = exp(−‖xi − xj‖² / sigma)``, the paper's heat kernel *as printed*
          (σ divides the squared distance directly; some code, e.g. the authors' MATLAB
          ``constructW``, writes ``exp(−d² / (2 t²))`` instead, i.e. ``sigma = 2 t²``).
        * ``"cosine"``: ``w = xi·xj / (‖xi‖ ‖xj‖)`` (the paper's dot-product weighting on
          normalised data), clipped to [0, 1] against rounding; defined as 0 when either
          sample is an all-zero row.  Neighbours are still chosen by Euclidean distance.
    sigma : float > 0, optional
        Width of the heat kernel; only allowed with ``weight="heat"``.  Default: the mean of
        ``‖xi − xj‖²`` over the edges of the symmetric graph (each edge counted once), so that
        weights are scale-free (``X`` and ``c·X`` give the same matrix); if that mean is 0
        (every edge joins duplicates) all weights are 1.

    Returns
    -------
    A : scipy.sparse.csr_matrix, shape (m, m)
        Symmetric (exactly: ``A[i, j]`` and ``A[j, i]`` are the same bits), zero diagonal,
        canonical (sorted indices, no duplicates) and without stored zeros: an edge whose
        weight is exactly 0 in the output dtype is omitted — cosine edges between orthogonal
        samples or touching an all-zero row, and heat weights that underflow
        (``‖xi − xj‖²/sigma`` above about 745 in float64, 104 in float32).  Omitting them
        changes neither ``A`` as a matrix nor its Laplacian.  The dtype is that of ``X``
        (float32 stays float32, float64 and non-float input give float64); the weights are
        computed in float64 and rounded once.

    Raises
    ------
    ValueError
        Invalid ``weight``, ``n_neighbors < 1``, ``n_neighbors ≥ m`` (the message gives the
        maximum ``m − 1``), ``m == 1``, ``sigma ≤ 0``, NaN or infinite, ``sigma`` given with a
        weight other than ``"heat"``, and the data errors of :func:`nmf_numba.nmf` (NaN/inf,
        negative entries, empty ``X``).
    TypeError
        ``n_neighbors`` that is not an integer (e.g. ``2.5``, ``True``), ``sigma`` that is not a
        real number, ``X`` that is not array-like — like the other integer and real options of
        the package.

    Notes
    -----
    Memory: besides ``X`` (converted to float64 if needed) and the result, a b×m float64
    buffer with ``b = min(m, 2²³ // m)`` rows (at most 64 MB, so m×m only while m ≤ 2896)
    and O(m·k) index arrays.  Time:
    O(m²·n) for the Gram products (BLAS for dense ``X``, a parallel scatter kernel for CSR) plus
    O(m²) selection work, parallel over rows.
    """
    n_neighbors, sigma = _check_params(n_neighbors, weight, sigma)
    X = check_data(X)
    m = X.shape[0]
    if m == 1:
        raise ValueError(
            "X has a single sample: a nearest-neighbour graph needs at least 2 samples "
            "(a sample is never its own neighbour)."
        )
    if n_neighbors >= m:
        raise ValueError(
            f"n_neighbors={n_neighbors} is too large for X with {m} samples: at most "
            f"{m - 1} (= n_samples - 1, a sample is never its own neighbour)."
        )
    out_dtype = X.dtype
    X64, e = _scaled_float64(X)
    ind = _neighbours(X64, n_neighbors)

    # union of the directed lists = pattern of max(K, Kᵀ); coo → csr sums the duplicates
    rows = np.repeat(np.arange(m, dtype=np.int64), n_neighbors)
    cols = ind.ravel()
    pattern = sp.coo_matrix(
        (np.ones(2 * rows.shape[0], dtype=np.int8),
         (np.concatenate([rows, cols]), np.concatenate([cols, rows]))),
        shape=(m, m),
    ).tocsr()
    pattern.sum_duplicates()  # canonical: sorted indices, no duplicates (no-op if already)
    g_indptr, g_indices = pattern.indptr, pattern.indices

    if weight == "binary":
        w = np.ones(g_indices.shape[0], dtype=np.float64)
    else:
        vals = np.empty(g_indices.shape[0], dtype=np.float64)
        want_dot = weight == "cosine"
        if sp.issparse(X64):
            pair_values_csr(X64.data, X64.indices, X64.indptr, g_indptr, g_indices, want_dot, vals)
        else:
            pair_values_dense(X64, g_indptr, g_indices, want_dot, vals)
        if want_dot:
            norms = np.sqrt(_row_sq(X64))
            r = np.repeat(np.arange(m), np.diff(g_indptr))
            den = norms[r] * norms[g_indices]  # commutative: symmetric bit for bit
            with np.errstate(divide="ignore", invalid="ignore"):
                w = np.where(den > 0, vals / np.where(den > 0, den, 1.0), 0.0)
            np.clip(w, 0.0, 1.0, out=w)
        elif sigma is None:
            s = vals.mean()  # in the scaled units; the ratio d²/σ is scale-free
            w = np.exp(-vals / s) if s > 0 else np.ones_like(vals)
        else:
            with np.errstate(over="ignore"):  # d² beyond float64: weight 0
                w = np.exp(-np.ldexp(vals, 2 * e) / sigma)

    A = sp.csr_matrix((w.astype(out_dtype), g_indices, g_indptr), shape=(m, m))
    A.eliminate_zeros()
    return A
