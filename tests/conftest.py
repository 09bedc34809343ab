import numpy as np
import pytest
import scipy.sparse as sp


def make_data(m, n, density=0.5, dtype=np.float64, seed=0, fmt="dense", positive=False):
    """A non-negative m×n matrix with some exact zeros (none if ``positive``), dense or CSR."""
    rng = np.random.default_rng(seed)
    X = rng.random((m, n)) * 3.0
    if not positive:
        X[rng.random((m, n)) > density] = 0.0
    else:
        X += 0.1
    X = X.astype(dtype)
    if fmt == "csr":
        return sp.csr_matrix(X)
    return X


def make_factors(m, n, k, dtype=np.float64, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.random((m, k)) + 0.05).astype(dtype), (rng.random((k, n)) + 0.05).astype(dtype)


@pytest.fixture(params=["dense", "csr"])
def fmt(request):
    return request.param


@pytest.fixture(params=[np.float64, np.float32], ids=["f64", "f32"])
def dtype(request):
    return request.param


def rtol_for(dtype):
    return 1e-10 if np.dtype(dtype) == np.float64 else 2e-4
