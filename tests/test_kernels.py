"""Every kernel against its NumPy twin in tests/reference.py: dense and CSR, float32 and
float64, int32 and int64 CSR indices, awkward shapes (1×1, k=1, empty rows and columns)."""

import numpy as np
import pytest
import scipy.sparse as sp

from nmf_numba._data import CsrOp, DenseOp
from nmf_numba.kernels import csr as csr_k
from nmf_numba.kernels import dense as dense_k

from . import reference as ref
from .conftest import make_data, make_factors, rtol_for

SHAPES = [(1, 1, 1), (7, 5, 1), (9, 13, 3), (30, 20, 6)]
BETAS = [2.0, 1.0, 0.0, 0.5, 1.5, 3.0, -0.5]


def _with_empty_lines(X):
    """Zero out one row and one column (when there are at least 2 of each)."""
    X = X.copy()
    if X.shape[0] > 1:
        X[1, :] = 0
    if X.shape[1] > 1:
        X[:, 0] = 0
    return X


def _csr(X, index_dtype):
    S = sp.csr_matrix(X)
    S.indices = S.indices.astype(index_dtype)
    S.indptr = S.indptr.astype(index_dtype)
    return S


@pytest.mark.parametrize("m,n,k", SHAPES + [(37, 11, 5), (130, 7, 2)])  # partial row blocks
def test_hals_sweep(m, n, k, dtype):
    X = make_data(m, n, dtype=dtype)
    A, Bt = make_factors(m, n, k, dtype)
    B = np.ascontiguousarray(Bt.T)
    G, XB = B.T @ B, X @ B
    A0 = A.copy()
    expected, violation = ref.hals_sweep_violation(A, G, XB)
    change, kernel_violation = dense_k.hals_sweep(A, G, XB).sum(axis=0)
    assert A.dtype == dtype
    np.testing.assert_allclose(A, expected, rtol=rtol_for(dtype) * 10, atol=1e-6)
    assert np.all(A >= 0)
    # the by-products: the squared change and scikit-learn's violation (what its cd stops on)
    np.testing.assert_allclose(change, np.sum((expected - A0) ** 2), rtol=rtol_for(dtype) * 100)
    np.testing.assert_allclose(kernel_violation, violation, rtol=rtol_for(dtype) * 100)


def test_hals_sweep_skips_subnormal_hessian():
    A = np.array([[1.0, 2.0]])
    G = np.array([[1e-320, 0.0], [0.0, 1.0]])
    XB = np.array([[1e-320, 1.0]])
    dense_k.hals_sweep(A, G, XB)
    assert np.all(np.isfinite(A)) and A[0, 0] == 1.0


@pytest.mark.parametrize("max_sweeps,delta", [(1, 0.0), (4, 0.0), (6, 0.5), (50, 0.1)])
def test_hals_sweeps_repeat_until_the_change_is_small(max_sweeps, delta, dtype):
    """The repeated sweeps in one call: the reference's sweeps, stopped by the same rule."""
    rng = np.random.default_rng(2)
    A = rng.random((23, 4)).astype(dtype)
    B = rng.random((11, 4)).astype(dtype)
    X = rng.random((23, 11)).astype(dtype)
    G, XB = (B.T @ B).astype(dtype), (X @ B).astype(dtype)
    expected = A.astype(np.float64)
    first = None
    for _ in range(max_sweeps):
        new = ref.hals_sweep(expected, G, XB)
        change = float(np.sum((new - expected) ** 2))
        expected = new
        if first is None:
            first = change
            if first == 0.0:
                break
        elif change <= delta * delta * first:
            break
    sums = dense_k.hals_sweeps(A, G, XB, max_sweeps, delta * delta)
    np.testing.assert_allclose(A, expected, rtol=rtol_for(dtype) * 100, atol=1e-6)
    # the sums returned are the first sweep's (its squared change; the violation beside it)
    assert sums[:, 0].sum() == pytest.approx(first, rel=rtol_for(dtype) * 100)


def test_hals_sweep_skips_zero_hessian():
    A = np.array([[1.0, 2.0]])
    G = np.array([[0.0, 0.0], [0.0, 1.0]])
    XB = np.array([[5.0, 1.0]])
    dense_k.hals_sweep(A, G, XB)
    np.testing.assert_array_equal(A, ref.hals_sweep([[1.0, 2.0]], G, XB))
    assert A[0, 0] == 1.0 and np.all(np.isfinite(A))


@pytest.mark.parametrize("gamma,zero_below", [(1.0, 0.0), (0.5, 1e-3), (2.0 / 3.0, 0.0)])
def test_mu_apply(gamma, zero_below, dtype):
    rng = np.random.default_rng(0)
    A = rng.random((6, 3)).astype(dtype)
    num = rng.random((6, 3)).astype(dtype)
    den = rng.random((6, 3)).astype(dtype)
    den[0, 0] = 0.0
    num[1, 1] = 0.0
    expected = ref.mu_apply(A, num, den, gamma, ref.EPSILON, zero_below)
    dt = np.dtype(dtype).type
    dense_k.mu_apply(A, num, den, dt(gamma), dt(ref.EPSILON), dt(zero_below))
    assert A.dtype == dtype
    np.testing.assert_allclose(A, expected, rtol=rtol_for(dtype))


@pytest.mark.parametrize("omega", [1.5, 2.0, 2.5, 5.0])
def test_mu_apply_over_relaxed_uses_its_exponent(omega, dtype):
    """Half-integer exponents take the square-root path; the result is the plain power."""
    rng = np.random.default_rng(1)
    A = rng.random((7, 3)).astype(dtype)
    num = rng.random((7, 3)).astype(dtype)
    den = rng.random((7, 3)).astype(dtype) + 0.5
    expected = ref.mu_apply_relaxed(A, num, den, 1.0, omega, ref.EPSILON, 0.0)
    dt = np.dtype(dtype).type
    dense_k.mu_apply(A, num, den, dt(omega), dt(ref.EPSILON), dt(0))
    np.testing.assert_allclose(A, expected, rtol=rtol_for(dtype) * 10)


@pytest.mark.parametrize("fmt", ["dense", "csr", "observed"])
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_kl_products_measured(fmt, m, n, k, dtype):
    """The KL step's products and the divergence at the pair, from one pass."""
    from nmf_numba._data import ObservedOp

    X = _with_empty_lines(make_data(m, n, dtype=dtype))
    A, Bt = make_factors(m, n, k, dtype)
    B = np.ascontiguousarray(Bt.T)
    A[0, :] = 0.0  # a zero model row exercises the eps guard
    if fmt == "dense":
        op = DenseOp(X)
    else:
        X = _csr(X, np.int32)
        op = CsrOp(X) if fmt == "csr" else ObservedOp(X)
    num, den, value = op.kl_products_measured(A, B, ref.EPSILON)
    num_exp, den_exp, value_exp = ref.kl_products_measured(X, A, B, ref.EPSILON,
                                                           observed_only=fmt == "observed")
    assert num.dtype == dtype and den.dtype == dtype
    np.testing.assert_allclose(num, num_exp, rtol=rtol_for(dtype) * 10, atol=1e-6)
    np.testing.assert_allclose(den, den_exp, rtol=rtol_for(dtype) * 10, atol=1e-6)
    assert value == pytest.approx(value_exp, rel=rtol_for(dtype) * 10, abs=1e-9)
    # the same as the loss module's divergence at that pair
    from nmf_numba.losses import divergence

    assert value == pytest.approx(divergence(op, A, B, 1.0), rel=rtol_for(dtype) * 10,
                                  abs=1e-9)


@pytest.mark.parametrize("gamma", [1.0, 0.5, 2.0 / 3.0])
def test_mu_apply_with_subnormal_factor_and_denominator_stays_finite(gamma, dtype):
    """num / den overflows when both A and den are subnormal; A · (num / den)^γ does not."""
    tiny = np.finfo(dtype).smallest_subnormal
    A = np.array([[tiny * 4, 0.0, 0.5]], dtype=dtype)
    num = np.array([[1.0, 1.0, 0.25]], dtype=dtype)
    den = np.array([[tiny * 2, tiny, 0.5]], dtype=dtype)
    dt = np.dtype(dtype).type
    dense_k.mu_apply(A, num, den, dt(gamma), dt(ref.EPSILON), dt(0))
    assert np.all(np.isfinite(A))
    assert A[0, 1] == 0.0
    assert A[0, 2] == pytest.approx(0.5 * 0.5**gamma, rel=1e-6)
    if gamma == 1.0:
        assert A[0, 0] == pytest.approx(2.0, rel=1e-6)  # (4 tiny / 2 tiny) · 1
    else:  # ((4 tiny)^(1/γ) / (2 tiny) · 1)^γ: finite and non-negative
        assert A[0, 0] >= 0


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("m,n,k", SHAPES[1:])
def test_mu_ratio(beta, m, n, k, dtype):
    X = _with_empty_lines(make_data(m, n, dtype=dtype))
    W, H = make_factors(m, n, k, dtype)
    P = W @ H
    P[0, -1] = 0.0  # a model zero exercises the eps guard
    R_exp, D_exp = ref.mu_ratio(X, P, beta, ref.EPSILON)
    D = np.empty_like(P)
    dt = np.dtype(dtype).type
    dense_k.mu_ratio(X, P, D, dt(beta), dt(ref.EPSILON), True)
    np.testing.assert_allclose(P, R_exp, rtol=rtol_for(dtype) * 10)
    finite = np.isfinite(D_exp)
    np.testing.assert_allclose(D[finite], D_exp[finite], rtol=rtol_for(dtype) * 10)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_spmm(m, n, k, dtype, index_dtype):
    X = _csr(_with_empty_lines(make_data(m, n, dtype=dtype)), index_dtype)
    B = np.ascontiguousarray(make_factors(m, n, k, dtype)[1].T)
    out = np.full((m, k), np.nan, dtype=dtype)
    csr_k.spmm(X.data, X.indices, X.indptr, B, out)
    np.testing.assert_allclose(out, ref.spmm(X, B), rtol=rtol_for(dtype), atol=1e-6)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_mu_ratio_times(beta, m, n, k, dtype, index_dtype):
    X = _csr(_with_empty_lines(make_data(m, n, dtype=dtype)), index_dtype)
    A, Bt = make_factors(m, n, k, dtype)
    B = np.ascontiguousarray(Bt.T)
    out = np.full((m, k), np.nan, dtype=dtype)
    dt = np.dtype(dtype).type
    csr_k.mu_ratio_times(X.data, X.indices, X.indptr, A, B, dt(beta), dt(ref.EPSILON), out)
    np.testing.assert_allclose(
        out, ref.mu_ratio_times(X, A, B, beta, ref.EPSILON), rtol=rtol_for(dtype) * 10, atol=1e-6
    )


def test_mu_ratio_times_explicit_zero_is_stored():
    X = sp.csr_matrix((np.array([0.0, 2.0]), np.array([0, 1]), np.array([0, 2])), shape=(1, 2))
    A = np.array([[1.0]])
    B = np.array([[1.0], [2.0]])
    out = np.empty((1, 1))
    csr_k.mu_ratio_times(X.data, X.indices, X.indptr, A, B, 1.0, ref.EPSILON, out)
    np.testing.assert_allclose(out, ref.mu_ratio_times(X, A, B, 1.0, ref.EPSILON))


@pytest.mark.parametrize("exponent,clip", [(-0.5, True), (0.5, False), (2.0, False)])
def test_pow_rows(exponent, clip, dtype):
    P = np.random.default_rng(0).random((5, 4)).astype(dtype)
    P[0, 0] = 0.0
    expected = ref.pow_rows(P, exponent, ref.EPSILON, clip)
    dt = np.dtype(dtype).type
    dense_k.pow_rows(P, dt(exponent), dt(ref.EPSILON), clip)
    np.testing.assert_allclose(P, expected, rtol=rtol_for(dtype))


@pytest.mark.parametrize("m,n", [(1, 1), (3, 7), (300, 400)])
def test_sum_sq_and_residual_sq(m, n, dtype):
    X = make_data(m, n, dtype=dtype)
    P = make_data(m, n, dtype=dtype, seed=5)
    assert dense_k.sum_sq(X.ravel()).sum() == pytest.approx(ref.sum_sq(X), rel=1e-12)
    assert dense_k.residual_sq(X, P).sum() == pytest.approx(ref.residual_sq(X, P), rel=1e-12)


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_beta_terms_dense_and_csr(beta, m, n, k, dtype, fmt):
    """The operator-level sums, assembled into the divergence, against the reference loss."""
    from nmf_numba.losses import divergence

    X = _with_empty_lines(make_data(m, n, dtype=dtype, positive=beta <= 0))
    if fmt == "csr":
        X = sp.csr_matrix(X)
    W, H = make_factors(m, n, k, dtype)
    op = CsrOp(X) if fmt == "csr" else DenseOp(X)
    got = divergence(op, W, np.ascontiguousarray(H.T), beta)
    assert got == pytest.approx(ref.beta_divergence(X, W, H, beta), rel=rtol_for(dtype) * 10)


@pytest.mark.parametrize("beta", [1.0, 0.5, 3.0, 0.0])
def test_mu_products_dense_equals_csr(beta, dtype):
    """The two operators give the same MU numerator and denominator on the same matrix."""
    X = _with_empty_lines(make_data(12, 9, dtype=dtype, positive=beta <= 0))
    A, Bt = make_factors(12, 9, 3, dtype)
    B = np.ascontiguousarray(Bt.T)
    nd, dd = DenseOp(X).mu_products(A, B, beta, ref.EPSILON)
    ns, ds = CsrOp(sp.csr_matrix(X)).mu_products(A, B, beta, ref.EPSILON)
    for a, b in ((nd, ns), (dd, ds)):
        assert a.dtype == dtype and b.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=rtol_for(dtype) * 10)


# ---------------------------------------------------------------- property-based: random shapes

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def csr_problems(draw):
    m = draw(st.integers(1, 12))
    n = draw(st.integers(1, 12))
    k = draw(st.integers(1, 6))
    density = draw(st.sampled_from([0.0, 0.2, 0.7, 1.0]))
    seed = draw(st.integers(0, 2**16))
    X = sp.random(m, n, density=density, format="csr", random_state=seed)
    rng = np.random.default_rng(seed)
    A = rng.random((m, k)) + 0.01
    B = rng.random((n, k)) + 0.01
    return X, A, B


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csr_problems(), st.sampled_from([2.0, 1.0, 0.5, 3.0]))
def test_csr_kernels_random_shapes(problem, beta):
    X, A, B = problem
    out = np.empty_like(A)
    csr_k.spmm(X.data, X.indices, X.indptr, B, out)
    np.testing.assert_allclose(out, ref.spmm(X, B), rtol=1e-10, atol=1e-12)
    csr_k.mu_ratio_times(X.data, X.indices, X.indptr, A, B, beta, ref.EPSILON, out)
    np.testing.assert_allclose(
        out, ref.mu_ratio_times(X, A, B, beta, ref.EPSILON), rtol=1e-9, atol=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 7), st.integers(0, 2**16))
def test_hals_sweep_random_shapes(n_rows, k, seed):
    rng = np.random.default_rng(seed)
    A = rng.random((n_rows, k))
    B = rng.random((n_rows + 3, k))
    B[:, 0] *= rng.integers(0, 2)  # sometimes a zero column: zero Hessian entry
    G = B.T @ B
    XB = rng.random((n_rows, k)) * G.max()
    expected, violation = ref.hals_sweep_violation(A, G, XB)
    kernel_violation = dense_k.hals_sweep(A, G, XB)[:, 1].sum()
    np.testing.assert_allclose(A, expected, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(kernel_violation, violation, rtol=1e-9)


@pytest.mark.parametrize("exponent", [0.5, -0.5, 1.5, -1.5, -1.0, 1.0, 2.0, 0.3, -2.5, 0.0])
def test_power_matches_numpy(exponent, dtype):
    from numba import njit

    from nmf_numba.kernels._scalar import power

    @njit
    def apply(a, e):
        out = np.empty_like(a)
        for i in range(a.shape[0]):
            out[i] = power(a[i], e, a.dtype.type(1))
        return out

    base = np.array([1e-7, 0.3, 1.0, 2.5, 1e5], dtype=dtype)
    got = apply(base, np.dtype(dtype).type(exponent))
    assert got.dtype == dtype
    np.testing.assert_allclose(got, base.astype(np.float64) ** exponent, rtol=rtol_for(dtype))


@pytest.mark.parametrize("m,n,k", SHAPES)
def test_residual_terms(m, n, k, dtype):
    X = sp.csr_matrix(_with_empty_lines(make_data(m, n, dtype=dtype)))
    A, Bt = make_factors(m, n, k, dtype)
    B = np.ascontiguousarray(Bt.T)
    got = csr_k.residual_terms(X.data, X.indices, X.indptr, A, B).sum(axis=0)
    np.testing.assert_allclose(got, ref.residual_terms(X, A, B), rtol=1e-12)


def test_csr_frobenius_is_accurate_for_small_residuals(dtype):
    """A near-exact fit: the CSR residual must agree with the dense one, float32 included."""
    rng = np.random.default_rng(0)
    W, H = rng.random((300, 4)).astype(dtype), rng.random((4, 60)).astype(dtype)
    X = (W.astype(np.float64) @ H + 1e-4 * rng.random((300, 60))).astype(dtype)
    dense_value = DenseOp(X).residual_sq(W, np.ascontiguousarray(H.T))
    csr_value = CsrOp(sp.csr_matrix(X)).residual_sq(W, np.ascontiguousarray(H.T))
    assert csr_value == pytest.approx(dense_value, rel=1e-3)
    assert dense_value == pytest.approx(ref.residual_sq(X, W.astype(np.float64) @ H), rel=1e-4)
