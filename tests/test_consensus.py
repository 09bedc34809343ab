"""nmf_numba.clustering: the consensus matrix and dispersion against slow NumPy twins (explicit loops
over sample pairs), cophenetic/dispersion on perfect and noisy consensus, the planted-cluster
acceptance test, reproducibility, the all-zero-row rule, the memory guard and the errors."""

import warnings

import numba
import numpy as np
import pytest
from scipy.cluster.hierarchy import cophenet, linkage
from scipy.spatial.distance import squareform
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score

import nmf_numba.clustering as consensus_mod
from nmf_numba import nmf, nmf_many
from nmf_numba.clustering import ConsensusResult, consensus, labels

from .conftest import make_data


@pytest.fixture(autouse=True)
def one_numba_thread():
    """Results do not depend on the thread count (README); tiny problems run much faster on
    one thread when the machine is busy."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


# ---------------------------------------------------------------- slow, obviously-correct twins


def twin_consensus(run_labels):
    """C_ij = (number of runs where i == j, or both have the same label >= 0) / n_runs."""
    run_labels = np.asarray(run_labels)
    n_runs, m = run_labels.shape
    C = np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            count = 0
            for r in range(n_runs):
                a, b = run_labels[r, i], run_labels[r, j]
                if i == j or (a == b and a >= 0):
                    count += 1
            C[i, j] = count / n_runs
    return C


def twin_dispersion(C):
    m = C.shape[0]
    total = 0.0
    for i in range(m):
        for j in range(m):
            total += 4.0 * (C[i, j] - 0.5) ** 2
    return total / (m * m)


def random_run_labels(rng, n_runs, m, k, p_unassigned=0.1):
    out = rng.integers(0, k, size=(n_runs, m))
    out[rng.random((n_runs, m)) < p_unassigned] = -1
    return out


@pytest.mark.parametrize(
    "n_runs, m, k",
    [(1, 1, 1), (1, 5, 2), (3, 2, 1), (4, 15, 3), (7, 23, 5), (10, 12, 12)],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_consensus_matrix_against_twin(n_runs, m, k, seed):
    rng = np.random.default_rng(seed)
    run_labels = random_run_labels(rng, n_runs, m, k)
    C = consensus_mod._consensus_matrix(run_labels)
    expected = twin_consensus(run_labels)
    assert C.dtype == np.float64 and C.shape == (m, m)
    np.testing.assert_array_equal(C, expected)  # counts / R, correctly rounded: exact
    assert consensus_mod._dispersion(C) == pytest.approx(twin_dispersion(expected), abs=1e-13)


def test_consensus_matrix_label_names_do_not_matter():
    """Unused labels, gaps, large labels, all-unassigned runs: only co-membership counts."""
    run_labels = np.array(
        [
            [0, 0, 5, 5, -1, 9],
            [-1, -1, -1, -1, -1, -1],
            [3, 3, 3, 3, 3, 3],
            [7, 2, 7, 2, -1, -1],
        ]
    )
    C = consensus_mod._consensus_matrix(run_labels)
    np.testing.assert_array_equal(C, twin_consensus(run_labels))
    relabelled = np.where(run_labels >= 0, 20 - run_labels, -1)
    np.testing.assert_array_equal(consensus_mod._consensus_matrix(relabelled), C)


def test_unassigned_sample_is_connected_to_nothing_but_itself():
    run_labels = np.array([[0, 0, -1, 1], [1, 1, -1, 1], [0, 0, -1, 0]])
    C = consensus_mod._consensus_matrix(run_labels)
    np.testing.assert_array_equal(C[2], [0, 0, 1, 0])
    np.testing.assert_array_equal(C[:, 2], [0, 0, 1, 0])
    assert C[0, 1] == 1.0 and C[0, 3] == pytest.approx(2 / 3)


# ---------------------------------------------------------------- labels(W)


def test_labels_argmax_ties_and_zero_rows():
    W = np.array([[0.1, 0.9, 0.0], [2.0, 2.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1e-300]])
    out = labels(W)
    np.testing.assert_array_equal(out, [1, 0, -1, 2])
    assert out.dtype == np.int64
    np.testing.assert_array_equal(labels(W[:3].astype(np.float32)), [1, 0, -1])
    np.testing.assert_array_equal(labels(np.array([[0, 3], [0, 0]])), [1, -1])  # ints


def test_labels_accepts_an_nmf_result():
    X = make_data(12, 8, positive=True)
    res = nmf(X, 3, init="random", random_state=0, max_iter=20, tol=0)
    np.testing.assert_array_equal(labels(res), labels(res.W))
    np.testing.assert_array_equal(labels(res), np.argmax(res.W, axis=1))


@pytest.mark.parametrize(
    "W, err, match",
    [
        (np.ones(3), ValueError, "2-D"),
        (np.ones((3, 0)), ValueError, "at least one column"),
        (np.array([[1.0, -0.5]]), ValueError, "non-negative"),
        (np.array([[1.0, np.nan]]), ValueError, "NaN"),
        (np.array([["a", "b"]]), TypeError, "numeric"),
    ],
)
def test_labels_errors(W, err, match):
    with pytest.raises(err, match=match):
        labels(W)


# ---------------------------------------------------------------- cophenetic and dispersion


def block_run_labels(truth, n_runs, rng):
    """Every run finds the same partition, under a different permutation of the label names."""
    k = truth.max() + 1
    return np.stack([rng.permutation(k)[truth] for _ in range(n_runs)])


def test_perfect_block_consensus():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=25)
    C = consensus_mod._consensus_matrix(block_run_labels(truth, 5, rng))
    np.testing.assert_array_equal(C, (truth[:, None] == truth[None, :]).astype(float))
    coph, disp, lab = consensus_mod._summarise(C, 3)
    assert coph == pytest.approx(1.0, abs=1e-12)
    assert disp == 1.0
    assert adjusted_rand_score(truth, lab) == 1.0
    assert lab[0] == 0 and set(lab) == {0, 1, 2}
    # first-appearance order: the first new label seen is always the next integer
    seen = []
    for value in lab:
        if value not in seen:
            assert value == len(seen)
            seen.append(value)


@pytest.mark.parametrize(
    "C, n_components",
    [
        (np.ones((6, 6)), 1),  # one cluster: every distance 0
        (np.ones((6, 6)), 3),
        (np.eye(6), 2),  # all singletons: every distance 1
        (np.full((5, 5), 0.5) + 0.5 * np.eye(5), 2),  # every pair together half the time
        (np.ones((2, 2)), 2),  # a single pair
        (np.ones((1, 1)), 1),  # a single sample
    ],
)
def test_degenerate_equal_distances_give_cophenetic_one(C, n_components):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from a NaN correlation
        coph, disp, lab = consensus_mod._summarise(C, n_components)
    assert coph == 1.0
    assert disp == pytest.approx(twin_dispersion(C))
    assert lab.shape == (C.shape[0],) and lab[0] == 0
    assert lab.max() < max(n_components, 1)


def test_noisy_consensus():
    rng = np.random.default_rng(1)
    truth = np.repeat(np.arange(3), 10)
    run_labels = block_run_labels(truth, 8, rng)
    flip = rng.random(run_labels.shape) < 0.15
    run_labels[flip] = rng.integers(0, 3, size=flip.sum())
    C = consensus_mod._consensus_matrix(run_labels)
    coph, disp, lab = consensus_mod._summarise(C, 3)
    assert 0.5 < coph < 0.999
    assert 0.0 < disp < 0.95
    assert disp == pytest.approx(twin_dispersion(C), abs=1e-13)
    # the cophenetic coefficient is scipy's on the full distance matrix
    D = 1.0 - C
    d = squareform(D, checks=False)
    assert coph == pytest.approx(cophenet(linkage(d, method="average"), d)[0], abs=1e-12)
    assert np.corrcoef(d, cophenet(linkage(d, method="average")))[0, 1] == pytest.approx(coph)
    assert adjusted_rand_score(truth, lab) == 1.0  # 15% noise does not hide 3 clusters


# ---------------------------------------------------------------- consensus() end to end


def planted_clusters(m=80, n=60, k=4, noise=0.05, seed=0):
    """k groups of samples, each a random positive multiple of its own non-negative profile on a
    block of features, plus small uniform noise everywhere."""
    rng = np.random.default_rng(seed)
    truth = rng.permutation(np.repeat(np.arange(k), m // k))
    profiles = np.zeros((k, n))
    width = n // k
    for c in range(k):
        profiles[c, c * width : (c + 1) * width] = 1.0 + rng.random(width)
    X = profiles[truth] * (0.5 + rng.random((m, 1))) + noise * rng.random((m, n))
    return X, truth


def test_planted_clusters_acceptance():
    X, truth = planted_clusters()
    res = consensus(X, 4, n_runs=10, random_state=0)
    assert isinstance(res, ConsensusResult)
    ari = adjusted_rand_score(truth, res.labels)
    print(f"ARI={ari:.4f} cophenetic={res.cophenetic:.6f} dispersion={res.dispersion:.6f}")
    assert ari >= 0.95
    assert res.cophenetic >= 0.99
    assert res.dispersion >= 0.95
    assert res.matrix.shape == (80, 80) and res.matrix.dtype == np.float64
    np.testing.assert_array_equal(res.matrix, res.matrix.T)
    np.testing.assert_array_equal(np.diag(res.matrix), 1.0)
    assert res.n_runs == 10 and res.n_components == 4
    assert res.losses.shape == (10,) and np.all(np.isfinite(res.losses))
    assert res.labels.dtype == np.int64 and set(res.labels) == {0, 1, 2, 3}
    assert res.run_labels.shape == (10, 80) and res.seeds.shape == (10,)
    assert len(set(res.seeds.tolist())) == 10


def test_seeds_reproduce_each_run_and_same_int_same_result():
    X, _ = planted_clusters(m=24, n=16, k=3, noise=0.3, seed=2)
    kw = dict(max_iter=30, tol=0.0)
    a = consensus(X, 3, n_runs=4, random_state=7, **kw)
    b = consensus(X, 3, n_runs=4, random_state=7, **kw)
    np.testing.assert_array_equal(a.matrix, b.matrix)
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_array_equal(a.seeds, b.seeds)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert (a.cophenetic, a.dispersion) == (b.cophenetic, b.dispersion)
    # the seeds are the package's rule's (an int seeds a RandomState, as in scikit-learn),
    # and each run is nmf(init="random", seed)
    np.testing.assert_array_equal(
        a.seeds, np.random.RandomState(7).randint(0, np.iinfo(np.int32).max, size=4)
    )
    for r in (0, 3):
        run = nmf(X, 3, init="random", random_state=int(a.seeds[r]), **kw)
        np.testing.assert_array_equal(labels(run.W), a.run_labels[r])
        assert run.loss == a.losses[r]
    np.testing.assert_array_equal(a.matrix, consensus_mod._consensus_matrix(a.run_labels))
    # a RandomState and a Generator are drawn from; a different seed gives different seeds
    rs = consensus(X, 3, n_runs=2, random_state=np.random.RandomState(7), **kw)
    np.testing.assert_array_equal(rs.seeds, a.seeds[:2])
    g = consensus(X, 3, n_runs=2, random_state=np.random.default_rng(7), **kw)
    np.testing.assert_array_equal(
        g.seeds, np.random.default_rng(7).integers(0, np.iinfo(np.int32).max, size=2))
    assert not np.array_equal(consensus(X, 3, n_runs=4, random_state=8, **kw).seeds, a.seeds)


def test_all_zero_sample_is_unassigned_end_to_end():
    X, _ = planted_clusters(m=20, n=12, k=2, seed=3)
    X[5] = 0.0
    res = consensus(X, 2, n_runs=3, random_state=0, max_iter=30, tol=0.0)
    np.testing.assert_array_equal(res.run_labels[:, 5], -1)
    expected_row = np.zeros(20)
    expected_row[5] = 1.0
    np.testing.assert_array_equal(res.matrix[5], expected_row)
    assert np.all(res.run_labels[:, np.arange(20) != 5] >= 0)


def test_sparse_input():
    import scipy.sparse as sp

    X, _ = planted_clusters(m=20, n=12, k=2, seed=4)
    kw = dict(n_runs=2, random_state=0, max_iter=20, tol=0.0)
    dense = consensus(X, 2, **kw)
    sparse = consensus(sp.csr_matrix(X), 2, **kw)
    np.testing.assert_array_equal(dense.seeds, sparse.seeds)
    assert sparse.matrix.shape == (20, 20)


def test_convergence_warnings_summarised_once():
    X, _ = planted_clusters(m=20, n=12, k=2, seed=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        consensus(X, 2, n_runs=3, random_state=0, max_iter=2, tol=1e-12)
    conv = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(conv) == 1
    assert "3 of 3 NMF runs did not converge" in str(conv[0].message)
    assert conv[0].filename == __file__  # points at the caller
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        consensus(X, 2, n_runs=2, random_state=0, max_iter=5, tol=0.0)  # tol=0: no warning


def test_other_warnings_pass_through(monkeypatch):
    def fake_nmf_many(Xs, k, **kw):
        warnings.warn("something else", UserWarning)
        return nmf_many(Xs, k, max_iter=2, tol=0.0, init=kw["init"],
                        random_state=kw["random_state"])

    monkeypatch.setattr(consensus_mod, "nmf_many", fake_nmf_many)
    X, _ = planted_clusters(m=10, n=8, k=2, seed=6)
    with pytest.warns(UserWarning, match="something else"):
        consensus(X, 2, n_runs=2, random_state=0)


def test_max_samples_refusal(monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("nmf was called before the size check")

    monkeypatch.setattr(consensus_mod, "nmf_many", must_not_run)
    X = make_data(30, 5, positive=True)
    with pytest.raises(ValueError) as info:
        consensus(X, 2, n_runs=2, max_samples=29)
    msg = str(info.value)
    assert "30×30 float64 consensus matrix (7.0 KiB" in msg
    assert "max_samples=29" in msg and "Pass max_samples=30" in msg
    big = np.zeros((20001, 1))  # default limit; never factorised
    with pytest.raises(ValueError, match=r"20001×20001 float64 consensus matrix \(3\.0 GiB"):
        consensus(big, 1)


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(n_runs=0), ValueError, "n_runs == 0, must be >= 1"),
        (dict(n_runs=2.0), TypeError, "n_runs must be an instance of int"),
        (dict(n_runs=True), TypeError, "n_runs must be an instance of int"),
        (dict(n_components=0), ValueError, "n_components == 0, must be >= 1"),
        (dict(n_components=None), TypeError, "n_components must be an instance of int"),
        (dict(max_samples=0), ValueError, "max_samples == 0, must be >= 1"),
        (dict(init="nndsvd"), ValueError, "init='random'"),
        (dict(init="nndsvdar"), ValueError, "Leave init out"),
        (dict(init=(np.ones((6, 2)), np.ones((2, 4)))), ValueError, "init='random'"),
        (dict(random_state="seed"), ValueError, "random_state must be"),
        (dict(X=-np.ones((6, 4))), ValueError, "Negative values in data passed to X"),
        (dict(X=np.ones(6)), ValueError, "2D array"),
        (dict(beta_loss="nope"), ValueError, "beta_loss"),
        (dict(not_an_option=1), TypeError, "not_an_option"),
    ],
)
def test_errors(kwargs, err, match):
    args = dict(X=np.ones((6, 4)), n_components=2, n_runs=2)
    args.update(kwargs)
    with pytest.raises(err, match=match):
        consensus(**args)


def test_init_random_is_allowed():
    X, _ = planted_clusters(m=10, n=8, k=2, seed=7)
    a = consensus(X, 2, n_runs=2, random_state=0, init="random", max_iter=5, tol=0.0)
    b = consensus(X, 2, n_runs=2, random_state=0, max_iter=5, tol=0.0)
    np.testing.assert_array_equal(a.matrix, b.matrix)
