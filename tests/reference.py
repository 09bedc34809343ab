"""Slow, obviously-correct NumPy twins of every kernel and loss in nmf_numba.

Each function here is written for clarity, not speed: plain loops or whole dense arrays, float64
throughout.  Sparse inputs are densified (these run on small test matrices only).
"""

import numpy as np
import scipy.sparse as sp

EPSILON = float(np.finfo(np.float32).eps)


def dense(X):
    return X.toarray().astype(np.float64) if sp.issparse(X) else np.asarray(X, dtype=np.float64)


# ---------------------------------------------------------------- kernels (tall factors A, B)


def hals_sweep(A, G, XB):
    """scikit-learn's _update_cdnmf_fast, column-outer, shuffle=False; returns a new A."""
    return hals_sweep_violation(A, G, XB)[0]


def hals_sweep_violation(A, G, XB):
    """The same sweep and scikit-learn's violation: Σ |projected ∂f/∂a| before each update."""
    A = np.array(A, dtype=np.float64)
    n_rows, k = A.shape
    violation = 0.0
    for t in range(k):
        hess = G[t, t]
        for i in range(n_rows):
            grad = -XB[i, t] + sum(G[t, r] * A[i, r] for r in range(k))
            violation += abs(min(0.0, grad) if A[i, t] == 0 else grad)
            if hess != 0:
                A[i, t] = max(A[i, t] - grad / hess, 0.0)
    return A, violation


def mu_apply(A, num, den, gamma, eps, zero_below):
    den = np.where(np.asarray(den) == 0, eps, den)
    out = np.asarray(A, dtype=np.float64) * (np.asarray(num, dtype=np.float64) / den) ** gamma
    out[out < zero_below] = 0.0
    return out


def mu_ratio(X, P, beta, eps):
    """(X ⊙ max(P, eps)^(β−2)) for β < 2 else X ⊙ P^(β−2); and P^(β−1) (clipped if β < 1)."""
    X, P = dense(X), dense(P)
    Pn = np.maximum(P, eps) if beta < 2 else P
    R = X * Pn ** (beta - 2)
    Pd = np.maximum(P, eps) if beta < 1 else P
    D = Pd ** (beta - 1)
    return R, D


def kl_products_measured(X, A, B, eps, observed_only=False):
    """The KL MU step's ``(num, den)`` for X ≈ A Bᵀ and ``D_KL(X | A Bᵀ)`` at (A, B); with
    ``observed_only`` only X's stored entries count (in the model sum and the denominator)."""
    stored = np.ones(X.shape, dtype=bool)
    if observed_only:
        coo = X.tocoo()
        stored[:] = False
        stored[coo.row, coo.col] = True
    A64, B64 = np.asarray(A, np.float64), np.asarray(B, np.float64)
    num = mu_ratio_times(X, A64, B64, 1.0, eps) if sp.issparse(X) else \
        mu_ratio(X, A64 @ B64.T, 1.0, eps)[0] @ B64
    den = stored.astype(np.float64) @ B64
    Xd, P = dense(X), A64 @ B64.T
    keep = Xd > eps
    x, v = Xd[keep], np.maximum(P[keep], eps)
    value = float(np.sum(x * np.log(x / v)) - np.sum(x) + np.sum(P[stored]))
    return num, den, value


def mu_apply_relaxed(A, num, den, gamma, omega, eps, zero_below):
    """The over-relaxed MU step: exponent ω·γ."""
    return mu_apply(A, num, den, gamma * omega, eps, zero_below)


def spmm(X, B):
    return dense(X) @ np.asarray(B, dtype=np.float64)


def mu_ratio_times(X, A, B, beta, eps):
    """(X ⊙ (A Bᵀ)^(β−2)) B, the model evaluated only where X stores an entry."""
    Xd = dense(X)
    stored = np.ones(X.shape, dtype=bool)
    if sp.issparse(X):  # explicitly stored zeros count as stored
        coo = X.tocoo()
        stored[:] = False
        stored[coo.row, coo.col] = True
    P = np.asarray(A, np.float64) @ np.asarray(B, np.float64).T
    if beta < 2:
        P = np.maximum(P, eps)
    R = np.where(stored, Xd * np.where(stored, P, 1.0) ** (beta - 2), 0.0)
    return R @ np.asarray(B, dtype=np.float64)


def pow_rows(P, exponent, eps, clip):
    P = dense(P)
    return (np.maximum(P, eps) if clip else P) ** exponent


def residual_sq(X, P):
    return float(np.sum((dense(X) - dense(P)) ** 2))


def sum_sq(x):
    x = np.asarray(x, dtype=np.float64)
    return float(np.sum(x * x))


# ---------------------------------------------------------------- losses


def beta_divergence(X, W, H, beta):
    """scikit-learn's definition, written out on dense float64 arrays."""
    X = dense(X)
    WH = np.asarray(W, np.float64) @ np.asarray(H, np.float64)
    if beta == 2:
        return 0.5 * float(np.sum((X - WH) ** 2))
    keep = X > EPSILON
    x = X[keep]
    v = np.maximum(WH[keep], EPSILON)
    if beta == 1:
        return float(np.sum(x * np.log(x / v)) - np.sum(x) + np.sum(WH))
    if beta == 0:
        return float(np.sum(x / v) - X.size - np.sum(np.log(x / v)))
    return float(
        (np.sum(x**beta) - beta * np.sum(x * v ** (beta - 1)) + (beta - 1) * np.sum(WH**beta))
        / (beta * (beta - 1))
    )


# ---------------------------------------------------------------- whole half-steps


def mu_update(X, A, B, beta):
    """One MU half-step on A for X ≈ A Bᵀ (scikit-learn's _multiplicative_update_w)."""
    X = dense(X)
    A = np.asarray(A, np.float64)
    B = np.asarray(B, np.float64)
    if beta == 2:
        num, den = X @ B, A @ (B.T @ B)
        return mu_apply(A, num, den, 1.0, EPSILON, 0.0)
    P = A @ B.T
    R, D = mu_ratio(X, P, beta, EPSILON)
    num = R @ B
    den = np.tile(B.sum(axis=0), (A.shape[0], 1)) if beta == 1 else D @ B
    gamma = 1 / (2 - beta) if beta < 1 else (1 / (beta - 1) if beta > 2 else 1.0)
    return mu_apply(A, num, den, gamma, EPSILON, np.finfo(np.float64).eps if beta <= 1 else 0.0)


def cd_update(X, A, B):
    X = dense(X)
    B = np.asarray(B, np.float64)
    return hals_sweep(A, B.T @ B, X @ B)


# ---------------------------------------------------------------- metrics


def relative_error(X, W, H):
    X = dense(X)
    return float(np.linalg.norm(X - W @ H) / np.linalg.norm(X))


def explained_variance(X, W, H):
    X = dense(X)
    return float(1 - np.sum((X - W @ H) ** 2) / np.sum((X - X.mean(axis=0)) ** 2))


def hoyer_sparsity(A, axis=0):
    A = np.asarray(A, np.float64)
    vectors = A.T if axis == 0 else A  # one vector per row of `vectors`
    scores = []
    for x in vectors:
        n = x.size
        l1, l2 = np.abs(x).sum(), np.sqrt((x**2).sum())
        scores.append(1.0 if l2 == 0 else (np.sqrt(n) - l1 / l2) / (np.sqrt(n) - 1))
    return float(np.mean(scores))


def residual_terms(X, A, B):
    """(Σ (x − v)², Σ v²) over the stored entries of sparse X, v = (A Bᵀ)_ij."""
    coo = X.tocoo()
    v = np.einsum("ik,ik->i", np.asarray(A, np.float64)[coo.row], np.asarray(B, np.float64)[coo.col])
    return float(np.sum((coo.data - v) ** 2)), float(np.sum(v**2))


def nnls_rows(G, C):
    """Row-wise NNLS min_{a ≥ 0} ½ aᵀGa − c·a through scipy's Lawson-Hanson NNLS on
    ‖R a − d‖ with RᵀR = G, Rᵀd = c (R from a Cholesky factor of G, which must be PD)."""
    from scipy.optimize import nnls

    G = np.asarray(G, np.float64)
    R = np.linalg.cholesky(G).T  # G = Rᵀ R
    out = []
    for c in np.asarray(C, np.float64):
        d = np.linalg.solve(R.T, c)
        out.append(nnls(R, d)[0])
    return np.array(out)


def kl_newton_sweep(X, A, B, max_newton, l1=0.0, l2=0.0, eps=EPSILON, free=None, weights=None):
    """One coordinate-Newton KL sweep on A for X ≈ A Bᵀ (Hsieh & Dhillon), written from the
    definitions: the model, gradient and Hessian of each coordinate are recomputed from scratch.
    The objective includes ``l1·ΣA + ½·l2·‖A‖²``.  ``free``: visit only these columns (the
    others are fixed components; their values stay in the model).

    Per coordinate: up to ``max_newton`` projected Newton steps s = max(−a, −g/h); a decreasing
    step is halved (up to 30 times, else dropped) until f'(0) + f'(s) ≥ 0.
    Returns (A_new, Σ squared projected gradients seen at each coordinate's first visit).
    ``weights``: the objective ``Σ w_ij d_KL(x_ij | v_ij)`` (every term times its weight).
    """
    X = dense(X)
    Wt = np.ones(X.shape) if weights is None else dense(weights)
    A = np.array(A, np.float64)
    B = np.asarray(B, np.float64)
    pos = (X > 0) & (Wt > 0)

    def derivatives(i, r):
        v = np.maximum(A[i] @ B.T, eps)
        ratio = np.where(pos[i], Wt[i] * X[i] / v, 0.0)
        g = Wt[i] @ B[:, r] - ratio @ B[:, r] + l1 + l2 * A[i, r]
        return g, (ratio / v) @ (B[:, r] ** 2) + l2

    pgrad_sq = 0.0
    for i in range(A.shape[0]):
        for r in range(A.shape[1]):
            if free is not None and not free[r]:
                continue
            a0 = A[i, r]
            g, h = derivatives(i, r)
            if a0 > 0 or g < 0:
                pgrad_sq += g * g
            for _ in range(max_newton):
                s = -g / h if h > 0 else (-A[i, r] if g > 0 else 0.0)
                s = max(s, -A[i, r])
                if s == 0:
                    break
                start = A[i, r]
                for _ in range(31):
                    A[i, r] = max(start + s, 0.0)
                    g_new, h_new = derivatives(i, r)
                    if s > 0 or g + g_new >= 0:
                        break
                    s *= 0.5
                else:
                    A[i, r] = start
                    break
                g, h = g_new, h_new
    return A, pgrad_sq


def gradients(X, W, H, beta, eps=EPSILON):
    """(∇_W, ∇_H) of D_β(X | WH) (½‖X − WH‖² for β = 2), the model clipped at eps for β < 2 as
    in the MU products."""
    X = dense(X)
    V = np.asarray(W, np.float64) @ np.asarray(H, np.float64)
    if beta < 2:
        V = np.maximum(V, eps)
    E = V ** (beta - 1) - X * V ** (beta - 2)  # ∂D/∂V
    return E @ np.asarray(H, np.float64).T, np.asarray(W, np.float64).T @ E


def projected_sq(A, grad):
    """‖∇ᴾ‖²: the gradient where A > 0, its negative part where A = 0."""
    pg = np.where(np.asarray(A) > 0, grad, np.minimum(grad, 0))
    return float(np.sum(pg**2))


# ---------------------------------------------------------------- penalties and variants


def penalty(A, l1=0.0, l2=0.0):
    A = np.asarray(A, np.float64)
    return l1 * A.sum() + 0.5 * l2 * np.sum(A**2)


def graph_penalty(S, W, reg, beta):
    """(λ/2) tr(Wᵀ L W) for β = 2; for KL (λ/2) Σ_jl S_jl (KL(w_j‖w_l) + KL(w_l‖w_j)), written
    as the pairwise sum Σ_jl S_jl Σ_r (w_jr − w_lr)(log w_jr − log w_lr) / 2."""
    S = dense(S)
    W = np.asarray(W, np.float64)
    if beta == 2:
        L = np.diag(S.sum(axis=1)) - S
        return 0.5 * reg * np.trace(W.T @ L @ W)
    logW = np.log(np.maximum(W, 1e-300))
    diff = W[:, None, :] - W[None, :, :]
    logdiff = logW[:, None, :] - logW[None, :, :]
    return 0.5 * reg * np.sum(S[:, :, None] * diff * logdiff)


def hals_graph_sweep(A, G, XB, S, reg):
    """Coordinate descent on ½‖X − A Bᵀ‖² + (λ/2) tr(Aᵀ L A), entry by entry (column-outer,
    row-inner), each entry set to the exact minimiser in it alone (from the definition)."""
    A = np.array(A, np.float64)
    S = dense(S)
    L = np.diag(S.sum(axis=1)) - S
    for r in range(A.shape[1]):
        for i in range(A.shape[0]):
            # objective in a = A[i, r]: ½ (G_rr + λ L_ii) a² − (XB_ir − Σ_{t≠r} A_it G_tr
            #                            − λ Σ_{j≠i} L_ij A_jr) a + const
            quad = G[r, r] + reg * L[i, i]
            lin = XB[i, r] - (A[i] @ G[:, r] - A[i, r] * G[r, r])
            lin -= reg * (L[i] @ A[:, r] - L[i, i] * A[i, r])
            if quad > 0:
                A[i, r] = max(lin / quad, 0.0)
    return A


# ---------------------------------------------------------------- missing values


def masked_mu_update(X, M, A, B, beta):
    """One MU half-step on A where only entries with M = True count (weighted NMF)."""
    X = np.where(M, dense(X), 0.0)
    A = np.asarray(A, np.float64)
    B = np.asarray(B, np.float64)
    V = A @ B.T
    if beta < 2:
        V = np.maximum(V, EPSILON)
    num = (M * X * V ** (beta - 2)) @ B
    Vd = np.maximum(A @ B.T, EPSILON) if beta < 1 else A @ B.T
    den = (M * Vd ** (beta - 1)) @ B
    gamma = 1 / (2 - beta) if beta < 1 else (1 / (beta - 1) if beta > 2 else 1.0)
    return mu_apply(A, num, den, gamma, EPSILON, np.finfo(np.float64).eps if beta <= 1 else 0.0)


def masked_hals_rows(X, M, A, B, l1, l2, n_sweeps):
    """Per row: G_i = Σ_{j observed} b_j b_jᵀ + l2 I, c_i = Σ x_ij b_j − l1, then n_sweeps
    exact coordinate minimisations of ½ aᵀ G_i a − c_i·a over a ≥ 0: the weighted sweep
    (:func:`weighted_hals_rows`) with weight 1 on the observed entries and 0 elsewhere."""
    M = np.asarray(M, bool)
    return weighted_hals_rows(np.where(M, dense(X), 0.0), M.astype(np.float64), A, B, l1, l2,
                              n_sweeps)


def knn_graph(X, n_neighbors, weight="binary", sigma=None):
    """Twin of nmf_numba.knn_graph as a dense m×m matrix, plus the directed kNN pattern K.

    Squared distances from the differences in float64 over the full m×m×n array, self at +inf,
    the k first of a stable argsort (ties → smaller index), A = max(K, Kᵀ) with the weights:
    binary 1, heat exp(−d²/σ) (σ default: mean d² over the edges, each once; all 1 if that is
    0), cosine xi·xj/(‖xi‖‖xj‖) clipped to [0, 1] (0 for an all-zero row).  Returned in X's
    dtype if float32/float64, else float64.
    """
    Xd = X.toarray() if sp.issparse(X) else np.asarray(X)
    X64 = Xd.astype(np.float64)
    m = X64.shape[0]
    D = ((X64[:, None, :] - X64[None, :, :]) ** 2).sum(axis=-1)
    np.fill_diagonal(D, np.inf)
    K = np.zeros((m, m), dtype=bool)
    for i in range(m):
        K[i, np.argsort(D[i], kind="stable")[:n_neighbors]] = True
    E = K | K.T
    if weight == "binary":
        W = E.astype(np.float64)
    elif weight == "heat":
        s = D[np.triu(E)].mean() if sigma is None else sigma
        W = np.where(E, np.exp(-D / s) if s > 0 else 1.0, 0.0)
    else:
        norms = np.linalg.norm(X64, axis=1)
        den = np.outer(norms, norms)
        C = np.divide(X64 @ X64.T, den, out=np.zeros((m, m)), where=den > 0)
        W = np.where(E, np.clip(C, 0.0, 1.0), 0.0)
    out_dtype = Xd.dtype if Xd.dtype in (np.float32, np.float64) else np.float64
    return W.astype(out_dtype), K


# ---------------------------------------------------------------- fixed components


def fixed_nnls_step(X, A, B, free, M=None, l2=0.0):
    """The exact least-squares half-step on A for X ≈ A Bᵀ with A's columns ``~free`` fixed:
    per row, scipy's NNLS of the free part against what the fixed part leaves,
    ``min_{a ≥ 0} ‖(x_i − A_F[i] B_Fᵀ) − a B_Uᵀ‖² + l2‖a‖²`` (``M``: only the entries with
    M true count; l2 by the usual stacking of √l2·I under B_U)."""
    from scipy.optimize import nnls

    X = dense(X)
    A = np.array(A, np.float64)
    B = np.asarray(B, np.float64)
    free = np.asarray(free, bool)
    M = np.ones(X.shape, bool) if M is None else np.asarray(M, bool)
    B_U, B_F = B[:, free], B[:, ~free]
    for i in range(A.shape[0]):
        obs = M[i]
        rhs = X[i, obs] - B_F[obs] @ A[i, ~free]
        system = np.vstack([B_U[obs], np.sqrt(l2) * np.eye(B_U.shape[1])])
        A[i, free] = nnls(system, np.concatenate([rhs, np.zeros(B_U.shape[1])]))[0]
    return A


def fixed_hals_sweep(X, A, B, free, M=None, l1=0.0, l2=0.0):
    """One HALS sweep on A for X ≈ A Bᵀ visiting only the free columns, each coordinate
    minimised exactly with the current values of every other column, fixed ones included
    (``M``: only the observed entries count, each row with its own Gram matrix)."""
    X = dense(X)
    A = np.array(A, np.float64)
    B = np.asarray(B, np.float64)
    M = np.ones(X.shape, bool) if M is None else np.asarray(M, bool)
    for r in np.flatnonzero(free):
        for i in range(A.shape[0]):
            obs = M[i]
            b = B[obs, r]
            others = A[i] @ B[obs].T - A[i, r] * b  # the model without coordinate r
            hess = b @ b + l2
            if hess > 0:
                A[i, r] = max((b @ (X[i, obs] - others) - l1) / hess, 0.0)
    return A


def fixed_mu_step(X, A, B, beta, free):
    """One MU half-step on A's free columns: :func:`mu_update` of the whole factor, of which
    only the free columns are kept (MU's entries are updated simultaneously from the old
    iterate, so the fixed columns' update is simply not taken)."""
    stepped = mu_update(X, A, B, beta)
    out = np.array(A, np.float64)
    out[:, free] = stepped[:, free]
    return out


# ---------------------------------------------------------------- weights


def weighted_mu_products(X, Wt, A, B, beta, eps=EPSILON):
    """The weighted MU step's ``num = (Wt ⊙ X ⊙ V^(β−2)) B`` and ``den = (Wt ⊙ V^(β−1)) B``
    with ``V = A Bᵀ`` (clipped at eps for β < 2 in the ratio, β < 1 in the denominator), on
    dense float64 arrays; ``Wt`` = 0 entries do not count."""
    X, Wt = dense(X), dense(Wt)
    A, B = np.asarray(A, np.float64), np.asarray(B, np.float64)
    V = A @ B.T
    Vn = np.maximum(V, eps) if beta < 2 else V
    num = (Wt * X * Vn ** (beta - 2)) @ B
    Vd = np.maximum(V, eps) if beta < 1 else V
    den = (Wt * Vd ** (beta - 1)) @ B
    return num, den


def weighted_mu_update(X, Wt, A, B, beta):
    """One weighted MU half-step on A (Févotte & Idier's exponent, scikit-learn's guards)."""
    num, den = weighted_mu_products(X, Wt, A, B, beta)
    gamma = 1 / (2 - beta) if beta < 1 else (1 / (beta - 1) if beta > 2 else 1.0)
    return mu_apply(A, num, den, gamma, EPSILON, np.finfo(np.float64).eps if beta <= 1 else 0.0)


def weighted_hals_rows(X, Wt, A, B, l1, l2, n_sweeps):
    """Per row: G_i = Σ_j w_ij b_j b_jᵀ + l2 I, c_i = Σ_j w_ij x_ij b_j − l1, then n_sweeps
    exact coordinate minimisations of ½ aᵀ G_i a − c_i·a over a ≥ 0."""
    X, Wt = dense(X), dense(Wt)
    A = np.array(A, np.float64)
    B = np.asarray(B, np.float64)
    for i in range(A.shape[0]):
        G = (B * Wt[i][:, None]).T @ B + l2 * np.eye(B.shape[1])
        c = (Wt[i] * X[i]) @ B - l1
        for _ in range(n_sweeps):
            for r in range(A.shape[1]):
                if G[r, r] > 0:
                    rest = G[r] @ A[i] - G[r, r] * A[i, r]
                    A[i, r] = max((c[r] - rest) / G[r, r], 0.0)
    return A


def weighted_beta_divergence(X, Wt, W, H, beta):
    """``Σ w_ij d_β(x_ij | v_ij)`` entry by entry (½ (x − v)² for β = 2), with scikit-learn's
    conventions: for β ≠ 2 the x-terms only where x > eps, v clipped at eps there (and in the
    model term for β < 1)."""
    X, Wt = dense(X), dense(Wt)
    V = np.asarray(W, np.float64) @ np.asarray(H, np.float64)
    total = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            w, x, v = Wt[i, j], X[i, j], V[i, j]
            if w == 0:
                continue
            if beta == 2:
                d = 0.5 * (x - v) ** 2
            elif beta == 1:
                d = v + (x * np.log(x / max(v, EPSILON)) - x if x > EPSILON else 0.0)
            elif beta == 0:
                d = (x / max(v, EPSILON) - np.log(x / max(v, EPSILON)) if x > EPSILON
                     else 0.0) - 1.0
            else:
                vm = max(v, EPSILON) if beta < 1 else v
                d = (beta - 1) * vm**beta
                if x > EPSILON:
                    d += x**beta - beta * x * max(v, EPSILON) ** (beta - 1)
                d /= beta * (beta - 1)
            total += w * d
    return total
