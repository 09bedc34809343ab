"""nmf_numba.neighbors.knn_graph (scikit-learn's search, exact re-ranking) against a slow,
obviously-correct NumPy twin (reference.knn_graph: full pairwise distance matrix, stable argsort),
plus the graph's properties, ties, extreme values and errors."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import nmf_numba.neighbors as neighbors_mod
from nmf_numba._validation import check_data, check_real
from nmf_numba.neighbors import knn_graph

from .conftest import make_data
from .reference import knn_graph as twin_knn_graph

WEIGHTS = ["binary", "heat", "cosine"]


def assert_matches_twin(A, X, k, weight, sigma=None):
    W, _ = twin_knn_graph(X, k, weight, sigma)
    assert isinstance(A, sp.csr_matrix)
    assert A.shape == W.shape and A.dtype == W.dtype
    Ad = A.toarray()
    np.testing.assert_array_equal(Ad != 0, W != 0)  # same edges (zero weights dropped in both)
    rtol = 1e-12 if W.dtype == np.float64 else 1e-6
    np.testing.assert_allclose(Ad, W, rtol=rtol, atol=0)


def assert_well_formed(A, m):
    assert isinstance(A, sp.csr_matrix) and A.shape == (m, m)
    assert A.has_canonical_format
    A2 = A.copy()
    A2.sort_indices()
    A2.sum_duplicates()
    np.testing.assert_array_equal(A2.indices, A.indices)  # really sorted, no duplicates
    assert np.all(A.data != 0), "stored zeros"
    assert np.all(A.data > 0) and np.all(A.data <= 1)
    assert np.all(A.diagonal() == 0)
    # exactly symmetric: the same bits in (i, j) and (j, i)
    AT = A.T.tocsr()
    AT.sort_indices()
    np.testing.assert_array_equal(A.indptr, AT.indptr)
    np.testing.assert_array_equal(A.indices, AT.indices)
    np.testing.assert_array_equal(A.data, AT.data)


@pytest.mark.parametrize("weight", WEIGHTS)
@pytest.mark.parametrize("m,n,k", [(2, 3, 1), (9, 4, 3), (25, 6, 5), (12, 1, 11), (80, 3, 70)])
def test_matches_twin(weight, m, n, k, fmt, dtype):
    X = make_data(m, n, density=0.6, dtype=dtype, seed=m + n + k, fmt=fmt)
    A = knn_graph(X, k, weight)
    assert_matches_twin(A, X, k, weight)
    assert_well_formed(A, m)
    if weight != "cosine":  # cosine may drop edges between orthogonal samples
        assert np.all(np.diff(A.indptr) >= k)


@pytest.mark.parametrize("sigma", [0.05, 1.0, 30.0])
def test_heat_with_given_sigma(sigma, fmt, dtype):
    X = make_data(30, 5, dtype=dtype, seed=3, fmt=fmt)
    A = knn_graph(X, 4, "heat", sigma=sigma)
    assert_matches_twin(A, X, 4, "heat", sigma)
    assert_well_formed(A, 30)


def test_heat_convention_is_exp_minus_d2_over_sigma():
    X = np.array([[0.0, 0.0], [3.0, 4.0]])  # ‖x0 − x1‖² = 25
    A = knn_graph(X, 1, "heat", sigma=10.0)
    assert A[0, 1] == pytest.approx(np.exp(-2.5), rel=1e-15)
    # default sigma = mean squared edge distance → exp(−1) on a single edge
    assert knn_graph(X, 1, "heat")[0, 1] == pytest.approx(np.exp(-1.0), rel=1e-15)


@pytest.mark.parametrize("weight", WEIGHTS)
def test_dense_and_csr_give_the_same_bits(weight, dtype):
    X = make_data(40, 7, density=0.4, dtype=dtype, seed=5)
    A, B = knn_graph(X, 4, weight), knn_graph(sp.csr_matrix(X), 4, weight)
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(A, name), getattr(B, name))


@pytest.mark.parametrize("fmt_name", ["csc", "coo", "lil", "dok", "bsr", "dia"])
def test_every_sparse_format(fmt_name):
    X = make_data(20, 6, density=0.5, seed=2)
    A = knn_graph(X, 3, "heat")
    B = knn_graph(sp.csr_matrix(X).asformat(fmt_name), 3, "heat")
    assert (A != B).nnz == 0


def test_small_chunks_give_the_same_graph(monkeypatch, fmt):
    """The pair sums and the repeated queries work in pieces of _CHUNK_ELEMENTS: one pair (or
    row) per piece, and ragged pieces, give the same bits."""
    X = make_data(33, 5, seed=4, fmt=fmt)
    Xt = np.repeat(make_data(11, 3, seed=4), 3, axis=0)  # triplicates: repeated queries
    A = {w: knn_graph(X, 3, w) for w in WEIGHTS}
    At = knn_graph(Xt, 4, "heat")
    for size in (1, 7, 33 * 5 + 1):
        monkeypatch.setattr(neighbors_mod, "_CHUNK_ELEMENTS", size)
        for w in WEIGHTS:
            B = knn_graph(X, 3, w)
            for name in ("indptr", "indices", "data"):
                np.testing.assert_array_equal(getattr(A[w], name), getattr(B, name))
        assert (knn_graph(Xt, 4, "heat") != At).nnz == 0


def test_requery_when_the_kth_place_is_tied(monkeypatch, fmt):
    """Integer data: the k-th and (k+1)-th neighbours are often at the same distance, so the
    first answer (k + 2 neighbours) cannot be certified and the row is asked again."""
    calls = []
    real = neighbors_mod._select

    def spy(X64, rows, ind, *args):
        calls.append(ind.shape[1])
        return real(X64, rows, ind, *args)

    monkeypatch.setattr(neighbors_mod, "_select", spy)
    rng = np.random.default_rng(1)
    X = rng.integers(0, 3, size=(60, 4)).astype(np.float64)
    X = sp.csr_matrix(X) if fmt == "csr" else X
    for k in (1, 4, 9):
        calls.clear()
        for w in WEIGHTS:
            assert_matches_twin(knn_graph(X, k, w), X, k, w)
        assert len(calls) > 3 and max(calls) > k + 2  # re-queried with more neighbours


# ---------------------------------------------------------------------------------------------
# duplicates and ties


def test_duplicates_never_make_a_sample_its_own_neighbour(fmt):
    a, b, c = [1.0, 2.0, 0.0], [5.0, 0.0, 1.0], [9.0, 9.0, 9.0]
    X = np.array([a, a, a, b, c, b])
    X = sp.csr_matrix(X) if fmt == "csr" else X
    _, K = twin_knn_graph(X, 1)
    # each copy of a picks the other copy with the smallest index; the b's pick each other
    expected = {0: 1, 1: 0, 2: 0, 3: 5, 4: 3, 5: 3}
    assert {i: int(np.flatnonzero(K[i])[0]) for i in range(6)} == expected
    A = knn_graph(X, 1)
    assert_matches_twin(A, X, 1, "binary")
    assert A.diagonal().sum() == 0
    H = knn_graph(X, 1, "heat")
    assert H[0, 1] == 1.0 and H[2, 0] == 1.0  # distance exactly 0 → weight exactly 1


def test_self_is_excluded_among_many_duplicates(fmt):
    """12 copies of one row (more than the k + 2 first asked for, so scikit-learn may or may
    not return the row itself) and a few other rows: each copy picks the copies with the
    smallest other indices."""
    rng = np.random.default_rng(3)
    X = np.vstack([np.tile(rng.random(4), (12, 1)), rng.random((6, 4)) + 2.0])
    X = X[rng.permutation(18)]
    X = sp.csr_matrix(X) if fmt == "csr" else X
    for k in (1, 2, 5, 11, 17):
        for w in WEIGHTS:
            A = knn_graph(X, k, w)
            assert_matches_twin(A, X, k, w)
            assert_well_formed(A, 18)


@pytest.mark.parametrize("weight", WEIGHTS)
def test_complete_graph_at_k_m_minus_1(weight, fmt, dtype):
    X = make_data(9, 3, seed=9, dtype=dtype, fmt=fmt, positive=True)
    A = knn_graph(X, 8, weight)
    assert A.nnz == 72
    assert_matches_twin(A, X, 8, weight)


def test_two_samples(fmt):
    X = np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]])
    X = sp.csr_matrix(X) if fmt == "csr" else X
    np.testing.assert_array_equal(knn_graph(X, 1).toarray(), [[0, 1], [1, 0]])
    assert knn_graph(X, 1, "cosine").nnz == 0  # orthogonal: weight 0, not stored
    assert knn_graph(X, 1, "heat")[0, 1] == np.exp(-1.0)


@pytest.mark.parametrize("weight", WEIGHTS)
def test_all_samples_identical(weight, fmt):
    X = np.ones((5, 3))
    X = sp.csr_matrix(X) if fmt == "csr" else X
    A = knn_graph(X, 2, weight)
    # N(0) = {1, 2}, N(1) = {0, 2}, N(i ≥ 2) = {0, 1}: rows 0, 1 are joined to everyone
    expected = np.array([[0, 1, 1, 1, 1], [1, 0, 1, 1, 1], [1, 1, 0, 0, 0],
                         [1, 1, 0, 0, 0], [1, 1, 0, 0, 0]], dtype=float)
    np.testing.assert_array_equal(A.toarray(), expected)  # heat: mean distance 0 → weights 1


def test_equal_distances_go_to_the_smaller_index(fmt):
    X = np.array([[0.0], [1.0], [2.0], [3.0], [5.0]])
    X = sp.csr_matrix(X) if fmt == "csr" else X
    A = knn_graph(X, 1)
    # 1 is equidistant from 0 and 2 → 0; 2 from 1 and 3 → 1; 3 → 2; 4 → 3
    K = {(0, 1), (1, 0), (2, 1), (3, 2), (4, 3)}
    expected = {(i, j) for i, j in K} | {(j, i) for i, j in K}
    assert set(zip(*A.nonzero())) == expected


@pytest.mark.parametrize("offset,n", [(1e8, 5), (1e10, 3)])
def test_ties_survive_cancellation_in_the_expanded_distance(offset, n, fmt):
    """A large common offset: ‖xi‖² + ‖xj‖² − 2 xi·xj is off by units to millions, while the
    exact distances are small integers with many ties.  The result must still be the twin's
    (ranking on the expanded form alone, i.e. a zero rounding allowance, gets hundreds of edges
    wrong here)."""
    rng = np.random.default_rng(0)
    X = offset + rng.integers(0, 4, size=(40, n)).astype(np.float64)
    X = sp.csr_matrix(X) if fmt == "csr" else X
    for k in (1, 3, 8):
        for weight in WEIGHTS:
            assert_matches_twin(knn_graph(X, k, weight), X, k, weight)


@pytest.mark.parametrize("scale", [2.0**-700, 1e-250, 1e250, 2.0**900])
def test_extreme_magnitudes(scale, fmt):
    """Squared norms would overflow/underflow: the same graph as for the unscaled data."""
    X = make_data(20, 4, seed=8, positive=True)
    ref = {w: knn_graph(X, 3, w) for w in WEIGHTS}
    Xs = sp.csr_matrix(X * scale) if fmt == "csr" else X * scale
    for w in WEIGHTS:
        A = knn_graph(Xs, 3, w)
        assert_well_formed(A, 20)
        np.testing.assert_array_equal(A.indices, ref[w].indices)
        np.testing.assert_allclose(A.data, ref[w].data, rtol=1e-12)
    # a given sigma is in the data's units: here d²/σ overflows (→ weight 0, not stored) or
    # underflows (→ weight 1)
    A = knn_graph(Xs, 3, "heat", sigma=1.0)
    if scale > 1:
        assert A.nnz == 0
    else:
        np.testing.assert_array_equal(A.indices, ref["binary"].indices)
        assert np.all(A.data == 1.0)


# ---------------------------------------------------------------------------------------------
# zero weights


def test_cosine_drops_orthogonal_pairs_and_zero_rows(fmt):
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    X = sp.csr_matrix(X) if fmt == "csr" else X
    B, C = knn_graph(X, 2, "binary"), knn_graph(X, 2, "cosine")
    assert B[0, 1] == 1 and B[0, 3] == 1  # they are neighbours ...
    Cd = C.toarray()
    assert Cd[0, 1] == 0 and Cd[0, 3] == 0  # ... with weight 0, not stored
    assert Cd[0, 2] == 1.0 and Cd[2, 0] == 1.0
    assert C.indptr[4] - C.indptr[3] == 0  # the all-zero row has no stored edge
    assert np.all(C.data != 0)
    assert_matches_twin(C, X, 2, "cosine")


def test_heat_underflow_is_dropped(dtype):
    X = np.array([[0.0], [1.0], [30.0]], dtype=dtype)
    A = knn_graph(X, 1, "heat", sigma=1.0)  # exp(−29²) underflows in both dtypes
    assert A.nnz == 2 and A[2, 1] == 0 and A[0, 1] == dtype(np.exp(-1.0))
    assert_matches_twin(A, X, 1, "heat", 1.0)


# ---------------------------------------------------------------------------------------------
# dtypes, inputs


def test_dtypes():
    X = make_data(10, 3, seed=1)
    assert knn_graph(X.astype(np.float32), 2, "heat").dtype == np.float32
    assert knn_graph(X, 2, "heat").dtype == np.float64
    Xi = (X * 10).astype(np.int64)
    A = knn_graph(Xi, 2, "heat")
    assert A.dtype == np.float64
    assert_matches_twin(A, Xi, 2, "heat")
    assert knn_graph(X.tolist(), 2).shape == (10, 10)


def test_inputs_are_not_modified():
    X = make_data(15, 4, dtype=np.float32, seed=6)
    X0 = X.copy()
    knn_graph(X, 3, "cosine")
    np.testing.assert_array_equal(X, X0)
    # non-canonical CSR (unsorted, duplicates): canonicalised on a copy
    S = sp.csr_matrix((np.array([1.0, 2.0, 3.0, 0.5]), np.array([2, 0, 2, 1]),
                       np.array([0, 3, 3, 4])), shape=(3, 3))
    parts = [a.copy() for a in (S.data, S.indices, S.indptr)]
    A = knn_graph(S, 2, "heat")
    for a, b in zip(parts, (S.data, S.indices, S.indptr)):
        np.testing.assert_array_equal(a, b)
    assert_matches_twin(A, S, 2, "heat")
    C = sp.csr_matrix(X).tocoo()
    C0 = C.copy()
    knn_graph(C, 3, "heat")
    assert (C != C0).nnz == 0


# ---------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("weight", ["gauss", "Heat", None, 1])
def test_invalid_weight(weight):
    with pytest.raises(ValueError, match=r"Invalid weight .*\['binary', 'heat', 'cosine'\]"):
        knn_graph(np.ones((4, 2)), 1, weight)


def test_n_neighbors_errors():
    X = make_data(5, 3, seed=0)
    with pytest.raises(ValueError, match=r"n_neighbors must be an int >= 1, got 0"):
        knn_graph(X, 0)
    with pytest.raises(ValueError, match=r">= 1, got -2"):
        knn_graph(X, -2)
    for bad in (2.5, 3.0, True, "3", None):
        with pytest.raises(TypeError, match=r"n_neighbors must be an int >= 1"):
            knn_graph(X, bad)
    with pytest.raises(ValueError, match=r"n_neighbors=5 is too large for X with 5 samples: at "
                                         r"most 4"):
        knn_graph(X, 5)
    with pytest.raises(ValueError, match=r"at most 4"):
        knn_graph(sp.csr_matrix(X), 50)
    assert knn_graph(X, np.int32(4)).nnz == 20  # numpy integers are fine; k = m − 1: complete


def test_single_sample():
    for X in (np.ones((1, 3)), sp.csr_matrix(np.ones((1, 3)))):
        with pytest.raises(ValueError, match="single sample"):
            knn_graph(X, 1)


@pytest.mark.parametrize("sigma,err", [
    (0, ValueError), (-1.5, ValueError), (np.nan, ValueError), ("1", TypeError),
])
def test_sigma_errors(sigma, err):
    """sigma is checked like every real option of the package: the error of check_real."""
    with pytest.raises(err) as expected:
        check_real(sigma, "sigma", 0, strict=True)
    with pytest.raises(err, match="sigma") as got:
        knn_graph(np.ones((4, 2)), 1, "heat", sigma=sigma)
    assert str(got.value) == str(expected.value)
    with pytest.raises(ValueError, match=r"sigma must be finite, got inf"):
        knn_graph(np.ones((4, 2)), 1, "heat", sigma=np.inf)


@pytest.mark.parametrize("weight", ["binary", "cosine"])
def test_sigma_only_with_heat(weight):
    with pytest.raises(ValueError, match=r"sigma is only used with weight='heat'"):
        knn_graph(np.ones((4, 2)), 1, weight, sigma=1.0)


def test_data_errors(fmt):
    """X is checked like everywhere in the package: the error of check_data, word for word."""
    X = make_data(6, 3, seed=0)
    Xn = X.copy()
    Xn[1, 1] = -0.5
    cases = [(Xn, "Negative")]
    for bad, what in ((np.nan, "NaN"), (np.inf, "infinity")):
        Xb = X.copy()
        Xb[0, 0] = bad
        cases.append((Xb, what))
    cases = [(sp.csr_matrix(Xb) if fmt == "csr" else Xb, what) for Xb, what in cases]
    cases += [(np.ones((0, 3)), "0 sample"), (np.ones((3, 0)), "0 feature")]
    for Xb, what in cases:
        with pytest.raises(ValueError) as expected:
            check_data(Xb)
        with pytest.raises(ValueError, match=what) as got:
            knn_graph(Xb, 2)
        assert str(got.value) == str(expected.value)


# ---------------------------------------------------------------------------------------------
# memory


def test_no_m_by_m_allocation():
    """20000×50: an m×m float64 array would be 3.2 GB; numpy's peak (scikit-learn's chunks,
    the O(m·k) arrays, the 32 MB pieces of the re-ranking) stays far below."""
    import tracemalloc

    m, n, k = 20000, 50, 5
    X = np.random.default_rng(0).random((m, n))
    knn_graph(X[:50], k, "heat")  # import scikit-learn outside the trace
    tracemalloc.start()
    A = knn_graph(X, k, "heat")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < m * m * 8 / 25, peak  # 128 MB
    assert A.shape == (m, m) and np.all(np.diff(A.indptr) >= k)
    # spot-check a few rows against brute force
    for i in (0, 4321, m - 1):
        d = ((X - X[i]) ** 2).sum(axis=1)
        d[i] = np.inf
        K_i = set(np.argsort(d, kind="stable")[:k])
        assert K_i <= set(A.indices[A.indptr[i]:A.indptr[i + 1]])


def test_import_does_not_load_sklearn():
    code = ("import sys, nmf_numba; assert 'sklearn' not in sys.modules; "
            "nmf_numba.knn_graph([[0.0], [1.0]], 1); assert 'sklearn.neighbors' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sklearn_settings_are_left_alone():
    import sklearn

    X = make_data(30, 4, seed=2, fmt="csr")
    with sklearn.config_context(working_memory=7):
        A = knn_graph(X, 3)
        assert sklearn.get_config()["working_memory"] == 7
    assert (A != knn_graph(X, 3)).nnz == 0


def test_sparse_queries_split_over_threads(monkeypatch):
    """A sparse query of enough rows is split over the package's threads (scikit-learn answers
    it on one); the graph is the twin's either way."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 Numba threads")
    pools = []

    class Spy(neighbors_mod.ThreadPoolExecutor):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            pools.append(self._max_workers)

    monkeypatch.setattr(neighbors_mod, "ThreadPoolExecutor", Spy)
    X = make_data(600, 40, density=0.2, fmt="csr", seed=4)
    A = knn_graph(X, 4, "heat")
    assert pools and pools[0] >= 2
    assert_matches_twin(A, X, 4, "heat")
