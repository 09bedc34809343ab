"""Kernels for graph-regularised NMF (GNMF, Cai, He, Han & Huang, IEEE TPAMI 2011).

The graph is a symmetric non-negative affinity ``Aff`` between the rows of ``A`` (samples), as
scipy's CSR arrays ``(data, indices, indptr)``, with degrees ``d = Aff·1`` and Laplacian
``L = D − Aff``; the penalty on ``A`` is ``(λ/2)·tr(Aᵀ L A)``.
"""

import numpy as np
from numba import njit

from .._numba import SERIAL


@njit(**SERIAL)
def hals_graph_sweep(A, G, XB, data, indices, indptr, degrees, lam):
    """One coordinate-descent sweep over every entry of ``A`` (in place) for
    ``½‖X − A Bᵀ‖² + (λ/2)·tr(Aᵀ L A)`` (plus an elastic net already folded into ``G`` and
    ``XB``), given ``G = BᵀB`` and ``XB = X B``.

    The graph couples the rows of one column, so each column is swept row after row (serially):
    entry ``(i, r)`` moves to the minimiser of the objective in that entry alone,

        a_ir = max(0, (XB_ir − Σ_{t≠r} a_it G_tr + λ Σ_{j≠i} Aff_ij a_jr) / (G_rr + λ L_ii)),

    which uses every other entry's current value, so the objective never increases.
    Returns ``‖A_new − A_old‖²_F``.
    """
    n_rows, k = A.shape
    zero = A.dtype.type(0)
    moved = 0.0
    for r in range(k):
        for i in range(n_rows):
            linear = np.float64(XB[i, r])
            for t in range(k):
                if t != r:
                    linear -= np.float64(A[i, t]) * np.float64(G[t, r])
            self_weight = 0.0
            neighbours = 0.0
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                if j == i:
                    self_weight += data[p]
                else:
                    neighbours += data[p] * np.float64(A[j, r])
            hess = np.float64(G[r, r]) + lam * (degrees[i] - self_weight)
            if hess <= 0.0:
                continue
            new = (linear + lam * neighbours) / hess
            new_value = A.dtype.type(new) if new > 0.0 else zero
            delta = np.float64(new_value) - np.float64(A[i, r])
            moved += delta * delta
            A[i, r] = new_value
    return moved
