"""Initial factors: random, the NNDSVD family, or user-given.

``random`` and ``nndsvd*`` reproduce scikit-learn's ``_initialize_nmf`` (same scaling, same draws
for the same integer seed), so a fit here and one in scikit-learn can start from the same point.
NNDSVD uses :func:`sklearn.utils.extmath.randomized_svd`, which works on scipy.sparse input
without densifying it.
"""


import numpy as np

from . import _validation
from ._random import as_rng, svd_seed
from ._sklearn import randomized_svd

__all__ = ["initialize"]


def _mean(X):
    return float(X.sum(dtype=np.float64)) / (X.shape[0] * X.shape[1])


def _random(X, k, rng):
    avg = np.sqrt(_mean(X) / k)
    H = avg * rng.standard_normal(size=(k, X.shape[1])).astype(X.dtype, copy=False)
    W = avg * rng.standard_normal(size=(X.shape[0], k)).astype(X.dtype, copy=False)
    return np.abs(W).astype(X.dtype, copy=False), np.abs(H).astype(X.dtype, copy=False)


def _nndsvd(X, k, random_state, eps=1e-6):
    """Boutsidis & Gallopoulos (2008): the positive parts of the leading singular triplets."""
    U, S, V = randomized_svd(X, k, random_state=svd_seed(random_state))
    W = np.zeros((X.shape[0], k), dtype=np.float64)
    H = np.zeros((k, X.shape[1]), dtype=np.float64)
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0, :] = np.sqrt(S[0]) * np.abs(V[0, :])
    for j in range(1, k):
        x, y = U[:, j], V[j, :]
        x_p, y_p = np.maximum(x, 0), np.maximum(y, 0)
        x_n, y_n = np.abs(np.minimum(x, 0)), np.abs(np.minimum(y, 0))
        x_p_nrm, y_p_nrm = np.linalg.norm(x_p), np.linalg.norm(y_p)
        x_n_nrm, y_n_nrm = np.linalg.norm(x_n), np.linalg.norm(y_n)
        m_p, m_n = x_p_nrm * y_p_nrm, x_n_nrm * y_n_nrm
        if m_p > m_n:
            u, v, sigma = x_p / x_p_nrm, y_p / y_p_nrm, m_p
        elif m_n > 0:
            u, v, sigma = x_n / x_n_nrm, y_n / y_n_nrm, m_n
        else:  # both parts vanish (e.g. X is all zeros): the component starts at zero
            continue
        lbd = np.sqrt(S[j] * sigma)
        W[:, j] = lbd * u
        H[j, :] = lbd * v
    W[W < eps] = 0
    H[H < eps] = 0
    return W, H


def initialize(X, n_components, init="auto", random_state=None):
    """Initial ``(W, H)`` for X (validated like :func:`nmf_numba.nmf` does), in X's dtype.

    ``init`` is one of "auto", "random", "nndsvd", "nndsvda", "nndsvdar" or a tuple ``(W0, H0)``.
    "auto" is "nndsvda" when ``n_components <= min(X.shape)``, else "random" (scikit-learn's
    default).  Returned arrays are new; user arrays are never modified.
    """
    X = _validation.check_data(X)
    return _initialize(X, _validation.check_int(n_components, "n_components", 1), init,
                       random_state)


def _initialize(X, k, init, random_state):
    """:func:`initialize` for an X that is already validated."""
    m, n = X.shape
    if isinstance(init, tuple):
        if len(init) != 2:
            raise ValueError("A custom init must be a tuple (W0, H0).")
        W0 = _validation.check_factor(init[0], (m, k), X.dtype, "init W0")
        H0 = _validation.check_factor(init[1], (k, n), X.dtype, "init H0")
        return W0, H0
    if not isinstance(init, str) or init not in _validation.INITS:
        raise ValueError(
            f"Invalid init {init!r}: use one of {list(_validation.INITS)} or a tuple (W0, H0)."
        )
    if init == "auto":
        init = "nndsvda" if k <= min(m, n) else "random"
    if init == "random":
        return _random(X, k, as_rng(random_state))
    if k > min(m, n):
        raise ValueError(
            f"init={init!r} needs n_components <= min(n_samples, n_features) = {min(m, n)}, "
            f"got {k}. Use init='random' for more components."
        )
    # Like scikit-learn, an int seed seeds the SVD and the nndsvdar fill independently.
    W, H = _nndsvd(X, k, random_state)
    if init == "nndsvda":
        avg = _mean(X)
        W[W == 0] = avg
        H[H == 0] = avg
    elif init == "nndsvdar":
        rng = as_rng(random_state)
        avg = _mean(X)
        W[W == 0] = np.abs(avg * rng.standard_normal(size=int(np.sum(W == 0))) / 100)
        H[H == 0] = np.abs(avg * rng.standard_normal(size=int(np.sum(H == 0))) / 100)
    return W.astype(X.dtype), H.astype(X.dtype)


def check_n_components(n_components, X, init):
    """Resolve ``n_components`` (None: from a custom init, else min(X.shape))."""
    if n_components is None:
        if isinstance(init, tuple) and len(init) == 2:
            return int(np.shape(init[0])[1]) if np.ndim(init[0]) == 2 else min(X.shape)
        return min(X.shape)
    return _validation.check_int(n_components, "n_components", 1)
