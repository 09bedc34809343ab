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


NNDSVD_EPS = 1e-6
"""Entries of an NNDSVD start below this become exact zeros (scikit-learn's threshold)."""


def nndsvd_pairs(S, V, x_pos_norm, x_neg_norm):
    """NNDSVD's choice for each singular triplet ``(u_j, S_j, v_j)`` (Boutsidis & Gallopoulos
    2008), given the norms of the positive and negative parts of each column of U.

    Returns ``(H, sign, scale)``: H (k×n, float64, before the ``NNDSVD_EPS`` threshold) and,
    for each component, which part of ``u_j`` makes column j of W (``sign`` +1: the positive
    part, −1: the negative part's magnitude, 0: both vanish and the component starts at zero)
    and ``λ_j``, with which that part, normalised, is multiplied.  The leading pair is
    non-negative up to its sign (Perron-Frobenius): W's column 0 is ``√S₀ |u₀|``, sign +1.
    This is the one place of the rule; the single-machine and the Dask initialisations form
    W from it each where U lives."""
    k, n = V.shape
    H = np.zeros((k, n), dtype=np.float64)
    sign = np.zeros(k, dtype=np.int8)
    scale = np.zeros(k, dtype=np.float64)
    H[0, :] = np.sqrt(S[0]) * np.abs(V[0, :])
    sign[0], scale[0] = 1, np.sqrt(S[0])
    for j in range(1, k):
        y = V[j, :]
        y_p, y_n = np.maximum(y, 0), np.abs(np.minimum(y, 0))
        y_p_nrm, y_n_nrm = np.linalg.norm(y_p), np.linalg.norm(y_n)
        m_p, m_n = x_pos_norm[j] * y_p_nrm, x_neg_norm[j] * y_n_nrm
        if m_p > m_n:
            v, sigma, sign[j] = y_p / y_p_nrm, m_p, 1
        elif m_n > 0:
            v, sigma, sign[j] = y_n / y_n_nrm, m_n, -1
        else:  # both parts vanish (e.g. X is all zeros): the component starts at zero
            continue
        scale[j] = np.sqrt(S[j] * sigma)
        H[j, :] = scale[j] * v
    return H, sign, scale


def _nndsvd(X, k, random_state):
    """Boutsidis & Gallopoulos (2008): the positive parts of the leading singular triplets."""
    U, S, V = randomized_svd(X, k, random_state=svd_seed(random_state))
    parts = [(np.maximum(U[:, j], 0), np.abs(np.minimum(U[:, j], 0))) for j in range(k)]
    norms = np.array([[np.linalg.norm(p), np.linalg.norm(q)] for p, q in parts]).reshape(k, 2)
    H, sign, scale = nndsvd_pairs(S, V, norms[:, 0], norms[:, 1])
    W = np.zeros((X.shape[0], k), dtype=np.float64)
    W[:, 0] = scale[0] * np.abs(U[:, 0])
    for j in range(1, k):
        if sign[j]:
            x = parts[j][0] if sign[j] > 0 else parts[j][1]
            W[:, j] = scale[j] * (x / norms[j, 0 if sign[j] > 0 else 1])
    W[W < NNDSVD_EPS] = 0
    H[H < NNDSVD_EPS] = 0
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
