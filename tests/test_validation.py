"""Bad input gets a clear error naming the problem; never a crash, a hang or a silent NaN."""

import numpy as np
import pytest
import scipy.sparse as sp

import nmf_numba as nn

from .conftest import make_data, make_factors


def test_negative_entries_report_count_and_minimum(fmt):
    X = make_data(6, 5)
    X[0, 0], X[2, 3] = -1.5, -0.25
    X = sp.csr_matrix(X) if fmt == "csr" else X
    with pytest.raises(ValueError, match=r"2 entries are < 0 \(minimum -1.5\)"):
        nn.nmf(X, 2)


@pytest.mark.parametrize("bad,what", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite(bad, what, fmt):
    X = make_data(6, 5)
    X[1, 1] = bad
    X = sp.csr_matrix(X) if fmt == "csr" else X
    if fmt == "dense" and what == "NaN":  # NaN in dense X marks a missing value (issue 5)
        res = nn.nmf(X, 2, max_iter=5, tol=0)
        assert np.all(np.isfinite(res.W)) and np.isfinite(res.loss)
        return
    with pytest.raises(ValueError, match=what):
        nn.nmf(X, 2)


@pytest.mark.parametrize("X", [np.ones(5), np.ones((2, 2, 2)), 3.0])
def test_not_two_dimensional(X):
    with pytest.raises(ValueError, match="2D|dim"):
        nn.nmf(X, 1)


@pytest.mark.parametrize("X", [np.ones((0, 4)), np.ones((4, 0)), sp.csr_matrix((0, 3))])
def test_empty(X):
    with pytest.raises(ValueError, match="0 (sample|feature)"):
        nn.nmf(X, 1)


@pytest.mark.parametrize("X", [None, "abc", [["a", "b"]]])
def test_wrong_type(X):
    with pytest.raises((TypeError, ValueError)):
        nn.nmf(X, 1)


def test_complex_rejected():
    with pytest.raises(ValueError, match="[Cc]omplex"):
        nn.nmf(np.ones((3, 3), dtype=complex), 1)


@pytest.mark.parametrize("k,err", [(0, ValueError), (-2, ValueError), (1.5, TypeError),
                                   ("3", TypeError), (True, TypeError)])
def test_bad_n_components(k, err):
    with pytest.raises(err, match="n_components"):
        nn.nmf(make_data(5, 4), k)


def test_unknown_strings_list_the_valid_ones():
    X = make_data(5, 4)
    with pytest.raises(ValueError, match=r"Invalid solver 'als'.*'mu'.*'cd'"):
        nn.nmf(X, 2, solver="als")
    with pytest.raises(ValueError, match=r"Invalid beta_loss 'kl'.*frobenius"):
        nn.nmf(X, 2, beta_loss="kl")
    with pytest.raises(ValueError, match=r"Invalid init 'svd'.*nndsvda"):
        nn.nmf(X, 2, init="svd")
    with pytest.raises(TypeError, match="beta_loss"):
        nn.nmf(X, 2, beta_loss=None)
    with pytest.raises(ValueError, match=r"beta_loss == nan, must be a number"):
        nn.nmf(X, 2, beta_loss=np.nan)


@pytest.mark.parametrize("beta", [1.0, "kullback-leibler", 0.5, 3.0, "itakura-saito"])
def test_cd_rejects_other_betas(beta):
    with pytest.raises(ValueError, match=r"solver='cd' supports only beta_loss='frobenius'"):
        nn.nmf(make_data(5, 4, positive=True), 2, solver="cd", beta_loss=beta)


@pytest.mark.parametrize("beta", [0.0, -0.5, "itakura-saito"])
def test_nonpositive_beta_with_zeros(beta, fmt):
    X = make_data(6, 5)
    X = sp.csr_matrix(X) if fmt == "csr" else X
    with pytest.raises(ValueError, match="contains zeros"):
        nn.nmf(X, 2, beta_loss=beta)


def test_nonpositive_beta_on_fully_stored_positive_sparse_is_fine():
    X = sp.csr_matrix(make_data(6, 5, positive=True))
    res = nn.nmf(X, 2, beta_loss=0, max_iter=5, tol=0)
    assert np.isfinite(res.loss)


def test_custom_init_checks():
    X = make_data(6, 5)
    W0, H0 = make_factors(6, 5, 2)
    with pytest.raises(ValueError, match=r"init W0 has shape \(5, 2\), expected \(6, 2\)"):
        nn.nmf(X, 2, init=(W0[:5], H0))
    with pytest.raises(ValueError, match=r"init H0 has shape \(3, 5\), expected \(2, 5\)"):
        nn.nmf(X, 2, init=(W0, np.vstack([H0, H0[:1]])))
    bad = H0.copy()
    bad[0, 0] = -1
    with pytest.raises(ValueError, match="Negative values in data passed to init H0"):
        nn.nmf(X, 2, init=(W0, bad))
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        nn.nmf(X, 2, init=(W0, bad))
    with pytest.raises(ValueError, match="tuple"):
        nn.nmf(X, 2, init=(W0,))
    with pytest.raises(ValueError, match="n_components <= min"):
        nn.nmf(X, 7, init="nndsvd")


def test_custom_init_is_cast_to_the_data_dtype():
    X = make_data(6, 5, dtype=np.float32)
    W0, H0 = make_factors(6, 5, 2)  # float64
    res = nn.nmf(X, 2, init=(W0, H0), max_iter=2, tol=0)
    assert res.W.dtype == np.float32


@pytest.mark.parametrize(
    "kw,err,match",
    [
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"max_iter": 2.5}, TypeError, "max_iter"),
        ({"tol": -1}, ValueError, "tol"),
        ({"tol": np.nan}, ValueError, "tol"),
        ({"tol": "1e-4"}, TypeError, "tol"),
        ({"time_limit": 0}, ValueError, "time_limit"),
        ({"callback": 3}, TypeError, "callback"),
    ],
)
def test_bad_options(kw, err, match):
    with pytest.raises(err, match=match):
        nn.nmf(make_data(5, 4), 2, **kw)


def _broken_csr(indices, indptr, shape=(2, 3)):
    X = sp.csr_matrix(shape)
    X.data = np.ones(len(indices))
    X.indices = np.asarray(indices, dtype=np.int32)
    X.indptr = np.asarray(indptr, dtype=np.int32)
    return X


@pytest.mark.parametrize(
    "indices,indptr,match",
    [
        ([0, 5], [0, 1, 2], "indices must be < 3"),
        ([0, -1], [0, 1, 2], "indices must be >= 0"),
        ([0, 1], [0, 2, 1], "indptr must be a non-decreasing sequence"),
        ([0, 1], [0, 1, 9], "Last value of index pointer should be less than the size"),
        ([0, 1], [0, 2], "index pointer size 2 should be 3"),
        ([0, 1], [1, 1, 2], "index pointer should start with 0"),
        # nothing stored (indptr[-1] = 0): scipy skips the order check, tocsr() would not
        ([7], [0, 1, 0], "indptr must be a non-decreasing sequence"),
    ],
)
def test_corrupt_csr_is_an_error_not_a_segfault(indices, indptr, match):
    """scipy's check_format words the problem; we add which argument, the format and the fix."""
    X = _broken_csr(indices, indptr)
    before = [a.copy() for a in (X.data, X.indices, X.indptr)]
    with pytest.raises(ValueError, match=r"X: invalid CSR structure: .*" + match +
                       r".*\. Fix its index arrays \(indices, indptr\) or its shape\."):
        nn.nmf(X, 1)
    for a, b in zip(before, (X.data, X.indices, X.indptr)):  # scipy's check ran on a copy
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_corrupt_csc_and_float_indices_are_errors():
    X = sp.csc_matrix((3, 2))
    X.data, X.indices, X.indptr = np.ones(1), np.array([9], np.int32), np.array([0, 1, 0], np.int32)
    with pytest.raises(ValueError, match="invalid CSC structure: indptr must be a non-decreasing"):
        nn.nmf(X, 1)
    X = _broken_csr([0, 1], [0, 1, 2])
    X.indptr = X.indptr.astype(float)  # scipy only warns about this
    with pytest.raises(ValueError, match="indptr has dtype float64, not an integer one"):
        nn.nmf(X, 1)


def test_check_format_leaves_the_callers_matrix_alone():
    """scipy's full check prunes arrays longer than the stored entries and re-casts them: it runs
    on a shallow copy, so the caller's matrix keeps its own arrays."""
    X = _broken_csr([0, 2, 1, 1], [0, 1, 2])  # two spare slots past indptr[-1]
    arrays = (X.data, X.indices, X.indptr)
    res = nn.nmf(X, 1, max_iter=3, tol=0)
    assert np.isfinite(res.loss)
    assert all(a is b for a, b in zip(arrays, (X.data, X.indices, X.indptr)))
    assert len(X.indices) == 4
    B = sp.bsr_matrix(np.eye(4) + 1, blocksize=(2, 2))
    B.indices, B.indptr = B.indices.astype(np.int64), B.indptr.astype(np.int64)
    arrays = (B.data, B.indices, B.indptr)
    nn.nmf(B, 1, max_iter=3, tol=0)
    assert all(a is b for a, b in zip(arrays, (B.data, B.indices, B.indptr)))


def test_corrupt_coo_is_an_error():
    X = sp.coo_matrix((np.ones(2), (np.array([0, 1]), np.array([0, 1]))), shape=(2, 2))
    X.col[1] = 7
    with pytest.raises(ValueError, match="column indices"):
        nn.nmf(X, 1)


def test_metrics_validate_too():
    X = make_data(6, 5)
    W, H = make_factors(6, 5, 2)
    with pytest.raises(ValueError, match="H has shape"):
        nn.metrics.relative_error(X, W, H[:, :4])
    with pytest.raises(ValueError, match="Negative values in data passed to W"):
        nn.metrics.explained_variance(X, -W, H)
    with pytest.raises(ValueError, match="axis"):
        nn.metrics.hoyer_sparsity(W, axis=2)
    with pytest.raises(ValueError, match="at least 2 entries"):
        nn.metrics.hoyer_sparsity(np.ones((1, 3)), axis=0)


def test_infinite_limits_mean_no_limit():
    X = make_data(8, 6)
    res = nn.nmf(X, 2, tol=np.inf, max_iter=50, random_state=0)
    assert res.stop_reason == "tol" and res.n_iter == 10  # the first tol test stops it
    res = nn.nmf(X, 2, time_limit=np.inf, max_iter=3, tol=0, random_state=0)
    assert res.stop_reason == "max_iter"


def test_corrupt_bsr_is_an_error_not_a_segfault():
    X = sp.bsr_matrix(np.eye(4), blocksize=(2, 2))
    X.indices = np.array([0, 5], dtype=X.indices.dtype)
    with pytest.raises(ValueError, match="BSR"):
        nn.nmf(X, 1)


def test_initialize_validates():
    with pytest.raises(ValueError, match="Negative values"):
        nn.initialize(-np.ones((3, 3)), 2)
    W, H = nn.initialize([[1, 2], [3, 4]], 1, "random", 0)  # a list of ints becomes float64
    assert W.dtype == np.float64 and H.shape == (1, 2)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # numpy says it first
@pytest.mark.parametrize("scale", [1e25, 1e200])
def test_overflowing_data_raises_instead_of_returning_nan(scale):
    X = make_data(20, 10, positive=True) * scale
    X = X.astype(np.float32) if scale < 1e38 else X
    with pytest.raises((FloatingPointError, ValueError), match="[Rr]escale X"):
        nn.nmf(X, 3, solver="mu", max_iter=20, tol=0, random_state=0)


def test_underflowing_data_raises():
    with pytest.raises(ValueError, match="too small"):
        nn.nmf(make_data(6, 5, positive=True) * 1e-300, 2)


# --------------------------------------------------------------------------------------------
# one message style: scalars in scikit-learn's check_scalar words
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kw,err,message", [
    ({"max_iter": 0}, ValueError, "max_iter == 0, must be >= 1."),
    ({"max_iter": 2.5}, TypeError, "max_iter must be an instance of int, not float."),
    ({"tol": -1}, ValueError, "tol == -1, must be >= 0.0."),
    ({"tol": "1e-4"}, TypeError, "tol must be an instance of float, not str."),
    ({"time_limit": 0}, ValueError, "time_limit == 0, must be > 0.0."),
    ({"l1_ratio": 1.5}, ValueError, "l1_ratio == 1.5, must be <= 1.0."),
    ({"alpha_W": -0.5}, ValueError, "alpha_W == -0.5, must be >= 0.0."),
])
def test_scalar_messages_are_scikit_learns(kw, err, message):
    """Word for word what sklearn.utils.check_scalar says for the same value and bounds."""
    with pytest.raises(err) as info:
        nn.nmf(make_data(5, 4), 2, **kw)
    assert str(info.value) == message


@pytest.mark.parametrize("kw,err,message", [
    # what check_scalar lets through: a bool for an int, NaN past every bound
    ({"n_components": True}, TypeError, "n_components must be an instance of int, not bool."),
    ({"max_iter": np.True_}, TypeError, "max_iter must be an instance of int, not bool."),
    ({"tol": np.nan}, ValueError, "tol == nan, must be a number >= 0.0."),
    ({"time_limit": np.nan}, ValueError, "time_limit == nan, must be a number > 0.0."),
    ({"alpha_W": np.nan}, ValueError, "alpha_W == nan, must be a number in [0.0, inf)."),
    ({"l1_ratio": np.nan}, ValueError, "l1_ratio == nan, must be a number in [0.0, 1.0]."),
    ({"alpha_W": np.inf}, ValueError, "alpha_W == inf, must be < inf."),
    ({"alpha_H": "sam"}, ValueError, "alpha_H == 'sam', must be 'same' or a float >= 0.0."),
])
def test_what_check_scalar_misses_is_caught_in_its_words(kw, err, message):
    X = make_data(5, 4)
    kw = dict(kw)
    k = kw.pop("n_components", 2)
    with pytest.raises(err) as info:
        nn.nmf(X, k, **kw)
    assert str(info.value) == message


def test_check_finite_real_open_maximum():
    from nmf_numba._validation import check_finite_real

    assert check_finite_real(0.5, "smoothness", 0.0, 1.0, include_maximum=False) == 0.5
    with pytest.raises(ValueError, match=r"^smoothness == 1.0, must be < 1.0.$"):
        check_finite_real(1.0, "smoothness", 0.0, 1.0, include_maximum=False)
    assert check_finite_real(1, "l1_ratio", 0.0, 1.0) == 1.0


def test_graph_checks_come_from_scikit_learn():
    X = make_data(6, 5)
    A = np.ones((6, 6))
    A[0, 1] = A[1, 0] = np.nan
    with pytest.raises(ValueError, match="Input graph contains NaN"):
        nn.nmf(X, 2, graph=A, graph_reg=1.0)
    with pytest.raises(ValueError, match=r"Negative values in data passed to graph: graph must be "
                                         r"non-negative \(an affinity"):
        nn.nmf(X, 2, graph=-np.ones((6, 6)), graph_reg=1.0)
    G = _broken_csr([0, 9], [0, 1, 2] + [2] * 4, shape=(6, 6))
    with pytest.raises(ValueError, match="graph: invalid CSR structure: indices must be < 6"):
        nn.nmf(X, 2, graph=G, graph_reg=1.0)


# --------------------------------------------------------------------------------------------
# the range of β
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [1e6, 100.5, -100.5, 1e300, np.inf, -np.inf])
def test_beta_out_of_range_names_beta_the_range_and_why(beta):
    """It was a FloatingPointError blaming X's magnitude (β = 1e6): the cause is β."""
    X = make_data(6, 5, positive=True)
    match = (r"^beta_loss == .*, must be [<>]= -?100\.0: float64 cannot evaluate the powers "
             r"x\*\*beta_loss .* Use a beta_loss in \[-100, 100\]\.$")
    with pytest.raises(ValueError, match=match):
        nn.nmf(X, 2, beta_loss=beta)
    W, H = make_factors(6, 5, 2)
    with pytest.raises(ValueError, match="beta_loss == "):
        nn.transform(X, H, beta_loss=beta)
    with pytest.raises(ValueError, match="beta_loss == "):
        nn.metrics.beta_divergence(X, W, H, beta_loss=beta)
    with pytest.raises(ValueError, match="beta_loss"):
        nn.NMF(2, beta_loss=beta, solver="mu").fit(X)


@pytest.mark.parametrize("beta", [3.0, 5.0, 10.0, 100.0, -5.0, -10.0, -100.0])
def test_large_legal_betas_still_fit(beta):
    X = make_data(12, 8, positive=True) + 0.5  # strictly positive: β <= 0 is defined
    res = nn.nmf(X, 2, beta_loss=beta, solver="mu", max_iter=20, tol=0, random_state=0)
    assert np.isfinite(res.loss) and np.all(np.isfinite(res.W)) and np.all(np.isfinite(res.H))
    assert nn.nmf(X, 2, beta_loss=np.float32(beta), max_iter=2, tol=0).beta == beta


def test_digits_fit_at_the_largest_beta():
    """The digits (values 0..16) fit at β = 100 from the default start (overflow sets in near
    β ≈ 148 from NNDSVDa, 252 from a random start)."""
    from sklearn.datasets import load_digits

    X = load_digits().data
    res = nn.nmf(X, 5, beta_loss=100.0, max_iter=10, tol=0, random_state=0)
    assert np.isfinite(res.loss) and np.all(np.isfinite(res.W))
