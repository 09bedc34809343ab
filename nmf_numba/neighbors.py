"""k-nearest-neighbour affinity graphs for graph-regularised NMF.

:func:`knn_graph` builds the symmetric sparse weight matrix ``A`` of Cai, He, Han & Huang,
"Graph Regularized Nonnegative Matrix Factorization for Data Representation", IEEE TPAMI 33(8),
2011 (GNMF), whose Laplacian ``L = D − A`` (``D = diag(A·1)``) is the graph regulariser.

The search itself is scikit-learn's brute-force :class:`sklearn.neighbors.NearestNeighbors`
(chunked, dense or CSR, never an m×m array).  Its Euclidean distances use the expanded form
``‖xi‖² + ‖xj‖² − 2 xi·xj``, which is fast but inexact (cancellation), so it only *pre-selects*:

* each row asks scikit-learn for ``K = k + 2`` neighbours (itself included, usually);
* the squared distances of these pairs are recomputed from the differences, ``Σ (xil − xjl)²``
  summed in column order in float64 (m·K pairs, vectorised NumPy), the row itself is dropped
  by index (wherever it appears, also among exact duplicates, or when it is not returned at
  all), and the others are ranked on (exact distance, index);
* the choice is *certified* when every row scikit-learn did not return is provably farther
  than the k-th chosen one: its scikit-learn distance is at least that of the K-th returned
  row (scikit-learn returns the K smallest of its own values), and the two forms of a distance
  differ by at most ``tol[i] + tol[j]`` (see :func:`_neighbours`; this assumes that
  scikit-learn evaluates the expanded form in float64 with the usual rounding, as its code
  does; the tests with large common offsets exercise the bound).  Rows that are not certified
  (ties or near-ties at the k-th place, duplicates, large common offsets) are asked again with
  4× as many neighbours, up to all m, which always certifies.

Hence the result is the exact graph of the specification — neighbours ranked on the
difference-form distance, ties to the smaller index — the edges the former hand-written Numba
kernels gave (their "heat" and "cosine" weights differed in the last bits: they summed with
fused multiply-adds).
scikit-learn is imported on the first call, not with :mod:`nmf_numba`.
"""

import numbers
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from ._validation import check_data, check_real

__all__ = ["knn_graph", "WEIGHTS"]

WEIGHTS = ("binary", "heat", "cosine")

# Data whose largest entry lies outside [2**-300, 2**300] is rescaled by a power of two (exact)
# before squaring, so that squared norms neither overflow nor underflow.
_SAFE_EXP2 = 300

# Work arrays of the pair computations and of the repeated queries hold about this many
# float64 elements (2**20: 8 MB; a piece needs two or three of them); a module constant so
# that a test can shrink it.
_CHUNK_ELEMENTS = 2**20

# scikit-learn's working_memory (MB) for the search, unless the user's setting is smaller.
_WORKING_MEMORY_MB = 64

# Uncertified rows are asked again with this many times as many neighbours.
_GROWTH = 4


# --------------------------------------------------------------------------------------------
# pair sums in a fixed order


def _pair_sums(X, I, J, kind):
    """For the pairs ``(I[p], J[p])`` of rows of ``X`` (float64, C-contiguous dense or canonical
    CSR): ``Σ_l (xil − xjl)²`` if kind is ``"sqdist"``, ``Σ_l xil·xjl`` if ``"dot"``.

    The terms are added one after the other in column order (``np.cumsum`` along a dense row,
    ``np.bincount`` over the stored entries of a canonical CSR row), so dense and CSR ``X`` give
    the same bits (the columns a CSR row skips add exact zeros to a non-negative sum), and
    ``(i, j)`` gives the same bits as ``(j, i)``.
    """
    p = I.shape[0]
    out = np.empty(p, dtype=np.float64)
    if p == 0:
        return out
    if sp.issparse(X):
        row_nnz = np.diff(X.indptr)
        cost = np.cumsum(row_nnz[I] + row_nnz[J] + 1)
        bounds = np.searchsorted(cost, np.arange(1, int(cost[-1]) // _CHUNK_ELEMENTS + 1)
                                 * _CHUNK_ELEMENTS)
        starts = np.unique(np.concatenate([[0], bounds, [p]]))
        for a, b in zip(starts[:-1], starts[1:]):
            P, Q = X[I[a:b]], X[J[a:b]]
            V = P - Q if kind == "sqdist" else P.multiply(Q)
            V = sp.csr_matrix(V)
            if not V.has_sorted_indices:  # scipy merges canonical rows in order; be sure
                V.sort_indices()
            vals = V.data * V.data if kind == "sqdist" else V.data
            rows = np.repeat(np.arange(b - a), np.diff(V.indptr))
            out[a:b] = np.bincount(rows, weights=vals, minlength=b - a)
    else:
        n = X.shape[1]
        step = max(1, _CHUNK_ELEMENTS // max(1, n))
        for a in range(0, p, step):
            b = min(a + step, p)
            P, Q = X[I[a:b]], X[J[a:b]]
            if kind == "sqdist":
                P -= Q
                P *= P
            else:
                P *= Q
            out[a:b] = np.cumsum(P, axis=1)[:, -1]
    return out


def _row_sums_of_squares(X):
    """``‖xi‖²`` of every row, in the order of :func:`_pair_sums`."""
    m = X.shape[0]
    if sp.issparse(X):
        rows = np.repeat(np.arange(m), np.diff(X.indptr))
        return np.bincount(rows, weights=X.data * X.data, minlength=m)
    out = np.empty(m, dtype=np.float64)
    step = max(1, _CHUNK_ELEMENTS // max(1, X.shape[1]))
    for a in range(0, m, step):
        b = min(a + step, m)
        out[a:b] = np.cumsum(X[a:b] * X[a:b], axis=1)[:, -1]
    return out


# --------------------------------------------------------------------------------------------
# the neighbour search


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
        X64 = sp.csr_matrix((data, X.indices[:nnz].copy(), X.indptr.copy()), shape=X.shape)
        return X64, e
    if e:
        return np.ldexp(X.astype(np.float64), -e), e
    return np.ascontiguousarray(X, dtype=np.float64), e


def _select(X64, rows, ind, dist, k, tol, tol_max):
    """Rank the returned candidates ``ind`` (len(rows)×K, from scikit-learn, with its distances
    ``dist``) of the given rows on (difference-form distance, index), without the row itself.

    Returns ``(sel, d, ok)``: the k chosen indices and their squared distances per row, and
    whether the choice is certified (every row not in ``ind`` is provably farther than the
    k-th chosen one)."""
    r, K = ind.shape
    m = X64.shape[0]
    e = _pair_sums(X64, np.repeat(rows, K), ind.ravel(), "sqdist").reshape(r, K)
    e[ind == rows[:, None]] = np.inf  # never its own neighbour, wherever it was returned
    order = np.lexsort((ind, e), axis=-1)[:, :k]  # by distance, then by index
    sel = np.take_along_axis(ind, order, axis=1)
    d = np.take_along_axis(e, order, axis=1)
    if K >= m:  # every row was returned
        return sel, d, np.ones(r, dtype=bool)
    # A row j outside ``ind`` has a scikit-learn distance ≥ the largest returned one, and its
    # difference-form distance is within tol[i] + tol[j] of that squared (8u: the sqrt that
    # scikit-learn took and the square taken here).
    far2 = dist.max(axis=1) ** 2
    u = np.finfo(np.float64).eps / 2
    lower = far2 * (1.0 - 8.0 * u) - tol[rows] - tol_max
    return sel, d, lower > d[:, -1]


def _neighbours(X64, k):
    """``(ind, d)``: the (m, k) indices of each row's k nearest other rows (ties to the smaller
    index) and their squared difference-form distances."""
    import sklearn
    from sklearn.neighbors import NearestNeighbors

    m, n = X64.shape
    # Rounding allowance: the expanded form (scikit-learn) and the difference form of
    # ‖xi − xj‖² are each within about 2(n + 2)·u·(‖xi‖² + ‖xj‖²) of the true value (sums of n
    # products, any order; Cauchy-Schwarz bounds |xi·xj|), so tol[i] + tol[j] with 4× headroom
    # bounds their gap.
    u = np.finfo(np.float64).eps / 2
    tol = (16.0 * (n + 8) * u) * _row_sums_of_squares(X64)
    tol_max = float(tol.max())
    K = min(m, k + 2)
    nn = NearestNeighbors(n_neighbors=K, algorithm="brute", metric="euclidean").fit(X64)
    # Sparse X goes through pairwise_distances_chunked (scikit-learn disables its Cython search
    # for sparse-sparse Euclidean), whose dense blocks are sized by working_memory: the default
    # 1 GB is slower and far larger than needed (README: Graph-regularised NMF).
    wm = min(sklearn.get_config()["working_memory"], _WORKING_MEMORY_MB)
    dist, ind = _query(nn, X64, np.arange(m), K, wm)
    sel, d, ok = _select(X64, np.arange(m), ind, dist, k, tol, tol_max)
    todo = np.flatnonzero(~ok)
    while todo.size:  # ties or near-ties at the k-th place: ask for more neighbours
        K = min(m, _GROWTH * K)
        step = max(1, _CHUNK_ELEMENTS // K)
        still = []
        for a in range(0, todo.size, step):
            rows = todo[a:a + step]
            dist, ind = _query(nn, X64, rows, K, wm)
            s, dd, ok = _select(X64, rows, ind, dist, k, tol, tol_max)
            sel[rows], d[rows] = s, dd
            still.append(rows[~ok])
        todo = np.concatenate(still)
    return sel, d


def _query(nn, X64, rows, K, working_memory):
    """``nn.kneighbors`` of ``rows`` of X64.  scikit-learn answers a sparse query on one
    thread, most of it a partial sort of each distance block (which releases the GIL), so
    sparse queries are split over the package's threads (``numba.get_num_threads()``); dense
    ones stay whole (their distance blocks are BLAS products, already threaded)."""
    import numba
    import sklearn

    def ask(part):
        with sklearn.config_context(working_memory=working_memory):  # per thread in sklearn
            return nn.kneighbors(X64[part], n_neighbors=K)

    n_threads = min(numba.get_num_threads(), rows.size // 256) if sp.issparse(X64) else 1
    if n_threads < 2:
        return ask(rows)
    with ThreadPoolExecutor(n_threads) as pool:
        answers = list(pool.map(ask, np.array_split(rows, n_threads)))
    return (np.concatenate([a[0] for a in answers]), np.concatenate([a[1] for a in answers]))


# --------------------------------------------------------------------------------------------
# public API


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
        computed in float64 from the differences, added in column order (scikit-learn's
        faster but inexact expanded-form distances only pre-select, see the module
        docstring), so exact duplicates and exact ties are recognised as such.
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
    The search is :class:`sklearn.neighbors.NearestNeighbors` (``algorithm="brute"``) on a
    float64 copy of ``X`` (no copy for C-contiguous float64 dense input), O(m²·n) time for the
    Gram products.  Dense ``X``: scikit-learn's Cython search, in chunks of 256 rows, parallel
    over its OpenMP threads.  Sparse ``X``: scikit-learn computes the distances of a chunk of
    rows to all rows with a sparse product into a dense block and selects with
    ``argpartition`` (single-threaded); the blocks are sized by scikit-learn's
    ``working_memory``, here at most 64 MB (a smaller global setting is kept).  Memory:
    besides ``X`` and the result, those chunk buffers and O(m·k) arrays; the exact re-ranking
    works in pieces of 2²⁰ float64 (8 MB, two or three at a time).  Rows whose k-th neighbour
    is tied (or nearly, within rounding) with the next ones are queried again with 4× more
    neighbours, so data with many exact ties (e.g. many duplicates) cost more: all m
    neighbours of such rows in the worst case, in pieces of 2²⁰ entries.
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
    ind, d = _neighbours(X64, n_neighbors)

    # Union of the directed lists = pattern of max(K, Kᵀ).  Both orientations of a pair carry
    # the same distance bits, so sorting the keys i·m + j and keeping the first of equal keys
    # gives the canonical CSR matrix with its squared distances.
    rows = np.repeat(np.arange(m, dtype=np.int64), n_neighbors)
    cols = ind.ravel().astype(np.int64)
    keys = np.concatenate([rows * m + cols, cols * m + rows])
    dist2 = np.concatenate([d.ravel(), d.ravel()])
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    first = np.ones(keys.shape[0], dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    keys, vals = keys[first], dist2[order][first]
    g_rows, g_indices = keys // m, keys % m
    g_indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(g_rows, minlength=m), out=g_indptr[1:])

    if weight == "binary":
        w = np.ones(vals.shape[0], dtype=np.float64)
    elif weight == "cosine":
        dots = _pair_sums(X64, g_rows, g_indices, "dot")  # xi·xj and xj·xi: the same bits
        norms = np.sqrt(_row_sums_of_squares(X64))
        den = norms[g_rows] * norms[g_indices]  # commutative: symmetric bit for bit
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(den > 0, dots / np.where(den > 0, den, 1.0), 0.0)
        np.clip(w, 0.0, 1.0, out=w)
    elif sigma is None:
        s = vals.mean()  # over both orientations = over the edges; in the scaled units
        w = np.exp(-vals / s) if s > 0 else np.ones_like(vals)
    else:
        with np.errstate(over="ignore"):  # d² beyond float64: weight 0
            w = np.exp(-np.ldexp(vals, 2 * e) / sigma)

    A = sp.csr_matrix((w.astype(out_dtype), g_indices, g_indptr), shape=(m, m))
    A.eliminate_zeros()
    return A
