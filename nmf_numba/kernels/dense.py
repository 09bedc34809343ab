"""Kernels on dense, C-contiguous 2-D arrays.

Conventions shared by every kernel here:

* factors are "tall": ``A`` is rows×k and the model is ``X ≈ A Bᵀ``;
* ``P`` is a dense block of the model ``A Bᵀ`` computed by BLAS before the kernel runs;
* scalars arrive already cast to the arrays' dtype, so float32 stays float32;
* reductions return per-row (or per-chunk) partial sums that the caller adds up with NumPy: a
  ``part.sum()`` inside a parallel kernel would become a parallel reduction whose rounding
  depends on the thread count.
"""

import numpy as np
from numba import njit, prange

from .._numba import PARALLEL, PARALLEL_SUMS, SERIAL, SERIAL_SUMS, serial_twin
from ._newton import newton_row
from ._scalar import divergence_terms, half_integer_power, power


# Rows a HALS sweep advances together: their coordinate updates are independent dependency
# chains that the CPU overlaps (faster than one row at a time: see the README's performance
# section).
_SWEEP_ROWS = 8
# Fixed number of parallel chunks, so the work split never depends on the thread count.
_CHUNKS = 64


@njit(**PARALLEL_SUMS)
def hals_sweep(A, G, XB):
    """One cyclic coordinate-descent (HALS) sweep over the columns of ``A``, in place.

    Minimises ``½‖X − A Bᵀ‖²`` one coordinate at a time, given ``G = BᵀB`` and ``XB = X B``.
    Each row's gradient ``A[i] G − XB[i]`` is formed once and then kept current with one axpy per
    coordinate, which takes the k-long dot product off the sweep's serial dependency chain;
    rows are independent, so a block of rows is advanced together.  The iterates are those of
    scikit-learn's column-outer ``_update_cdnmf_fast`` (``shuffle=False``) up to rounding.

    Returns an ``(n_chunks, 2)`` float64 array of per-chunk sums: column 0 of the squared
    changes of ``A`` (total ``‖A_new − A_old‖²_F``, the accelerated HALS solver's inner stopping
    rule) and column 1 of scikit-learn's "violation", ``|∂f/∂a|`` at each coordinate just before
    its update, projected (``min(∂f/∂a, 0)`` where ``a = 0``), which its ``cd`` solver stops on.
    """
    n_rows, k = A.shape
    zero = A.dtype.type(0)
    one = A.dtype.type(1)
    # 0 marks a column whose coordinate cannot move: a zero Hessian, or one so small (subnormal)
    # that its reciprocal would overflow
    tiny = np.finfo(A.dtype).tiny
    inv_hess = np.zeros(k, A.dtype)
    for t in range(k):
        if G[t, t] >= tiny:
            inv_hess[t] = one / G[t, t]
    n_blocks = (n_rows + _SWEEP_ROWS - 1) // _SWEEP_ROWS
    n_chunks = min(n_blocks, _CHUNKS)
    per_chunk = (n_blocks + n_chunks - 1) // max(n_chunks, 1)
    sums = np.zeros((max(n_chunks, 1), 2))
    for c in prange(n_chunks):
        grad = np.empty((_SWEEP_ROWS, k), A.dtype)
        moved = 0.0
        violation = 0.0
        for b in range(c * per_chunk, min(n_blocks, (c + 1) * per_chunk)):
            i0 = b * _SWEEP_ROWS
            n_in = min(n_rows, i0 + _SWEEP_ROWS) - i0
            for q in range(n_in):
                for r in range(k):
                    grad[q, r] = -XB[i0 + q, r]
                for t in range(k):
                    a = A[i0 + q, t]
                    for r in range(k):
                        grad[q, r] += a * G[t, r]
            for t in range(k):
                h = inv_hess[t]
                for q in range(n_in):
                    old = A[i0 + q, t]
                    g = grad[q, t]
                    violation += abs(np.float64(g)) if (old > zero or g < zero) else 0.0
                    if h == zero:
                        continue
                    new = old - g * h
                    if new < zero:
                        new = zero
                    A[i0 + q, t] = new
                    delta = new - old
                    moved += np.float64(delta) * np.float64(delta)
                    for r in range(k):
                        grad[q, r] += delta * G[t, r]
        sums[c, 0] = moved
        sums[c, 1] = violation
    return sums


@njit(**SERIAL)
def hals_sweeps(A, G, XB, max_sweeps, delta_sq):
    """Up to ``max_sweeps`` :func:`hals_sweep` sweeps on ``A`` (in place) in one call, stopping
    once a sweep changes ``A`` by at most ``delta_sq`` times the squared change of the first
    (the accelerated HALS rule); the repeated sweeps of a small problem then cost no Python
    call each.  Returns the first sweep's per-chunk sums (as :func:`hals_sweep`)."""
    first_sums = hals_sweep(A, G, XB)
    first = first_sums[:, 0].sum()
    done = 1
    while done < max_sweeps and first != 0.0:
        change = hals_sweep(A, G, XB)[:, 0].sum()
        done += 1
        if change <= delta_sq * first:
            break
    return first_sums


@njit(**SERIAL_SUMS)
def hals_sweep_columns(A, G, XB, violation_too=True):
    """The sweep of :func:`hals_sweep` on the calling thread, in scikit-learn's order (column
    by column, each coordinate's gradient ``A[i] G[:, t] − XB[i, t]`` formed afresh), for the
    compiled small-problem loop: on small problems this is 3-6× faster than the row-block
    kernel run serially (the README's performance section).  The same iterates up to
    rounding.  Returns ``(‖A_new − A_old‖²_F, violation)`` in float64, as :func:`hals_sweep`'s
    column sums; ``violation_too=False`` skips the violation (returned as 0), which only
    scikit-learn's stopping rule reads, for about a quarter of the sweep's time."""
    n_rows, k = A.shape
    zero = A.dtype.type(0)
    one = A.dtype.type(1)
    tiny = np.finfo(A.dtype).tiny
    moved = 0.0
    violation = 0.0
    for t in range(k):
        h = one / G[t, t] if G[t, t] >= tiny else zero  # 0: the coordinate cannot move
        for i in range(n_rows):
            g = -XB[i, t]
            for r in range(k):
                g += A[i, r] * G[r, t]
            old = A[i, t]
            if violation_too:
                violation += abs(np.float64(g)) if (old > zero or g < zero) else 0.0
            if h == zero:
                continue
            new = old - g * h
            if new < zero:
                new = zero
            A[i, t] = new
            delta = np.float64(new) - np.float64(old)
            moved += delta * delta
    return moved, violation


@njit(**PARALLEL)
def kl_ratio_measured(X, P, eps, terms):
    """The elementwise part of the KL MU step (``P ← X ⊘ max(P, eps)``, as :func:`mu_ratio`
    with β = 1), in place on ``P = A Bᵀ``, and the sums of ``D_KL(X | P)`` at that P:
    ``terms[i] = (Σ x log(x/p), Σ x, Σ p)`` over row i (float64; the first two over
    ``x > eps``, p clipped at eps, as :func:`beta_terms`)."""
    n_rows, n_cols = P.shape
    for i in prange(n_rows):
        s1 = s2 = s_model = 0.0
        for j in range(n_cols):
            p = P[i, j]
            x = X[i, j]
            p64, x64 = np.float64(p), np.float64(x)
            s_model += p64
            if x64 > eps:
                t1, t2 = divergence_terms(x64, p64, 1.0, eps)
                s1 += t1
                s2 += t2
            P[i, j] = x / (eps if p < eps else p)
        terms[i, 0] = s1
        terms[i, 1] = s2
        terms[i, 2] = s_model


@njit(**PARALLEL)
def mu_apply(A, num, den, gamma, eps, zero_below):
    """Multiplicative update ``A ← A ⊙ (num ⊘ den)^γ`` in place.

    A zero denominator is replaced by ``eps`` (scikit-learn's rule), and entries that end below
    ``zero_below`` are set to exactly zero (scikit-learn does this for β ≤ 1 for stability).

    When ``A`` has decayed to subnormal values its denominator can be subnormal too, and
    ``num / den`` overflows although ``A · num / den`` is an ordinary number (for β = 2,
    ``den ≥ a·G_tt``); the update is then formed as ``((a^(1/γ) / den) · num)^γ`` instead
    (without this guard float32 MU on a 1%-dense CSR matrix turned NaN).
    """
    n_rows, k = A.shape
    one = A.dtype.type(1)
    zero = A.dtype.type(0)
    inv_gamma = one / gamma
    halves = int(2 * gamma)  # γ = halves/2 (the over-relaxed KL step's ladder): no pow
    if halves != 2 * gamma or halves > 16:
        halves = 0
    for i in prange(n_rows):
        for t in range(k):
            d = den[i, t]
            if d == zero:
                d = eps
            ratio = num[i, t] / d
            if halves > 0 and gamma != one:
                ratio = half_integer_power(ratio, halves, one)
            elif gamma != one:
                ratio = power(ratio, gamma, one)
            a = A[i, t] * ratio
            if np.isinf(ratio):
                scaled = A[i, t] if gamma == one else power(A[i, t], inv_gamma, one)
                a = power((scaled / d) * num[i, t], gamma, one)
            A[i, t] = zero if a < zero_below else a


@njit(**PARALLEL)
def mu_ratio(X, P, D, beta, eps, need_den):
    """The elementwise part of a β-divergence MU step, in place on ``P = A Bᵀ``.

    On return ``P`` holds ``X ⊙ P^(β−2)`` (the matrix that, times B, is the numerator) and, if
    ``need_den``, ``D`` holds ``P^(β−1)`` (times B, the denominator).  Guards follow
    scikit-learn: P is clipped at ``eps`` before a negative power (β < 2 for the numerator,
    β < 1 for the denominator).  When both powers share their base, the numerator's is
    obtained from the denominator's with one division instead of a second ``pow``; entries with
    ``x = 0`` need no numerator power at all.
    """
    n_rows, n_cols = P.shape
    zero = P.dtype.type(0)
    one = P.dtype.type(1)
    two = P.dtype.type(2)
    for i in prange(n_rows):
        for j in range(n_cols):
            p = P[i, j]
            x = X[i, j]
            p_num = eps if (beta < two and p < eps) else p
            if not need_den:  # β = 1
                P[i, j] = x / p_num
                continue
            p_den = eps if (beta < one and p < eps) else p
            d = power(p_den, beta - one, one)
            D[i, j] = d
            if x == zero:
                P[i, j] = zero
            elif p_num == p_den and p_num > zero:
                P[i, j] = x * (d / p_num)
            else:
                P[i, j] = x * power(p_num, beta - two, one)


@njit(**PARALLEL)
def beta_terms(X, P, beta, eps):
    """Per-row sums that make up the β-divergence ``D_β(X | P)`` for β ≠ 2, in float64.

    Entries with ``x ≤ eps`` are skipped and ``P`` is clipped at ``eps`` (scikit-learn's
    definition).  Returns an (n_rows, 3) array whose column sums are ``(s1, s2, s3)``:

    * β = 1: ``Σ x log(x/p)``, ``Σ x``, ``Σ_all P``
    * β = 0: ``Σ x/p``, ``Σ log(x/p)``, 0
    * other: ``Σ x^β``, ``Σ x p^(β−1)``, ``Σ_all P^β`` (unclipped, over every entry)
    """
    n_rows, n_cols = P.shape
    part = np.zeros((n_rows, 3))
    for i in prange(n_rows):
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        for j in range(n_cols):
            p = np.float64(P[i, j])
            x = np.float64(X[i, j])
            if beta == 1.0:
                s3 += p
            elif beta != 0.0:
                s3 += p**beta
            if x <= eps:
                continue
            t1, t2 = divergence_terms(x, p, beta, eps)
            s1 += t1
            s2 += t2
        part[i, 0] = s1
        part[i, 1] = s2
        part[i, 2] = s3
    return part


@njit(**PARALLEL)
def residual_sq(X, P):
    """Per-row ``‖X_i − P_i‖²`` in float64, without a temporary; the caller sums them."""
    n_rows, n_cols = P.shape
    part = np.zeros(n_rows)
    for i in prange(n_rows):
        s = 0.0
        for j in range(n_cols):
            r = np.float64(X[i, j]) - np.float64(P[i, j])
            s += r * r
        part[i] = s
    return part


@njit(**PARALLEL)
def pow_rows(P, exponent, eps, clip):
    """In place ``P ← max(P, eps)^exponent`` (clip only if ``clip``)."""
    n_rows, n_cols = P.shape
    one = P.dtype.type(1)
    for i in prange(n_rows):
        for j in range(n_cols):
            p = P[i, j]
            if clip and p < eps:
                p = eps
            P[i, j] = power(p, exponent, one)


@njit(**PARALLEL)
def sum_sq(x):
    """Per-chunk ``Σ x²`` of a 1-D array in float64 (64 fixed chunks); the caller sums them."""
    n = x.shape[0]
    n_chunks = 64 if n >= 65536 else 1
    part = np.zeros(n_chunks)
    step = (n + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        s = 0.0
        for p in range(c * step, min(n, (c + 1) * step)):
            v = np.float64(x[p])
            s += v * v
        part[c] = s
    return part


@njit(**SERIAL)
def _solve_passive(G, c, passive, x, y, L, idx, ridge):
    """Solve ``(G[F, F] + ridge·diag(G[F, F])) x_F = c_F`` (F = passive set; a zero diagonal
    entry gets ``ridge`` itself) by Cholesky, in float64 scratch; set ``x`` (0 off F) and the
    dual ``y = G x − c`` (0 on F).  Returns False if the block is not positive definite (a
    column of B that is zero or dependent, and no ridge)."""
    k = c.shape[0]
    n_f = 0
    for j in range(k):
        if passive[j]:
            idx[n_f] = j
            n_f += 1
    for a in range(n_f):  # Cholesky factor, lower triangle
        for b in range(a + 1):
            s = np.float64(G[idx[a], idx[b]])
            if a == b and ridge > 0.0:  # relative to each diagonal entry (scale-invariant);
                s += ridge * s if s > 0.0 else ridge  # a zero column gets the floor ``ridge``
            for t in range(b):
                s -= L[a, t] * L[b, t]
            if a == b:
                if s <= 0.0:
                    return False
                L[a, a] = np.sqrt(s)
            else:
                L[a, b] = s / L[b, b]
    z = np.empty(n_f)
    for a in range(n_f):  # L z = c_F
        s = np.float64(c[idx[a]])
        for t in range(a):
            s -= L[a, t] * z[t]
        z[a] = s / L[a, a]
    for j in range(k):
        x[j] = 0.0
    for a in range(n_f - 1, -1, -1):  # Lᵀ x_F = z
        s = z[a]
        for t in range(a + 1, n_f):
            s -= L[t, a] * x[idx[t]]
        x[idx[a]] = s / L[a, a]
    for j in range(k):
        if passive[j]:
            y[j] = 0.0
        else:
            s = -np.float64(c[j])
            for a in range(n_f):
                s += np.float64(G[j, idx[a]]) * x[idx[a]]
            y[j] = s
    return True


@njit(**SERIAL)
def _solve_or_restart(G, c, passive, x, y, L, idx):
    """``_solve_passive``.  A singular block (B has more columns than rank: k > n, or
    dependent columns) is solved with a relative ridge of 1e-12, then 1e-8, on G's diagonal
    (scale-invariant: columns of B may differ in scale by many orders of magnitude): the NNLS
    solution is then not unique, and the ridge picks one whose objective differs from the
    minimum by O(ridge·Σ G_jj x_j²).  Only if that fails too, restart from x = 0."""
    if _solve_passive(G, c, passive, x, y, L, idx, 0.0):
        return
    for rel in (1e-12, 1e-8):
        if _solve_passive(G, c, passive, x, y, L, idx, rel):
            return
    for j in range(passive.shape[0]):
        passive[j] = False
    _solve_passive(G, c, passive, x, y, L, idx, 0.0)


@njit(**SERIAL)
def _cd_row(G, c, x, n_sweeps):
    """Cyclic coordinate descent on ``min_{x ≥ 0} ½ xᵀ G x − c·x`` from ``x ≥ 0`` (in place):
    monotone and convergent for any positive semi-definite G, the fallback when block principal
    pivoting cycles.  True when a sweep changes no coordinate by more than 1e-12 of max |x|."""
    k = x.shape[0]
    for _ in range(n_sweeps):
        change = 0.0
        size = 0.0
        for j in range(k):
            g_jj = np.float64(G[j, j])
            if g_jj <= 0.0:
                x[j] = 0.0
                continue
            grad = -np.float64(c[j])
            for t in range(k):
                grad += np.float64(G[j, t]) * x[t]
            new = max(0.0, x[j] - grad / g_jj)
            change = max(change, abs(new - x[j]))
            size = max(size, abs(new))
            x[j] = new
        if change <= 1e-12 * size:
            return True
    return False


@njit(**PARALLEL)
def nnls_rows(G, C, A, max_iter):
    """Row-wise non-negative least squares by block principal pivoting (Kim & Park 2011).

    For every row ``i`` solves ``min_{a ≥ 0} ½ aᵀ G a − C[i]·a`` — with ``G = BᵀB`` and
    ``C = X B`` that is ``min_{a ≥ 0} ‖X[i] − a Bᵀ‖²`` — and writes the solution into ``A[i]``.
    The current ``A[i] > 0`` is the starting passive set (a warm start across iterations).
    Infeasible variables are exchanged all at once while their number falls, with Kim & Park's
    backup rule (3 more full exchanges, then one variable at a time) to guarantee termination.
    A passive set whose Gram block is singular (zero or dependent columns of B: k > n, say) is
    solved with a small relative ridge (``_solve_or_restart``).  Block principal pivoting
    assumes a positive definite G; where it cycles anyway (``max_iter`` exchanges) the row is
    finished by coordinate descent (``_cd_row``), which converges for any semi-definite G.
    Returns per-chunk counts of rows that neither method solved.
    """
    n_rows, k = A.shape
    zero = A.dtype.type(0)
    n_chunks = min(max(n_rows, 1), _CHUNKS)
    per_chunk = (n_rows + n_chunks - 1) // n_chunks
    unsolved = np.zeros(n_chunks, np.int64)
    for c in prange(n_chunks):
        passive = np.zeros(k, np.bool_)
        x = np.zeros(k)
        y = np.zeros(k)
        L = np.zeros((k, k))
        idx = np.zeros(k, np.int64)
        for i in range(c * per_chunk, min(n_rows, (c + 1) * per_chunk)):
            for j in range(k):
                passive[j] = A[i, j] > zero
            _solve_or_restart(G, C[i], passive, x, y, L, idx)
            best = k + 1
            backup = 3
            done = False
            for _ in range(max_iter):
                n_bad = 0
                last = -1
                for j in range(k):
                    if (passive[j] and x[j] < 0.0) or (not passive[j] and y[j] < 0.0):
                        n_bad += 1
                        last = j
                if n_bad == 0:
                    done = True
                    break
                if n_bad < best:
                    best = n_bad
                    backup = 3
                    full = True
                elif backup >= 1:
                    backup -= 1
                    full = True
                else:
                    full = False
                for j in range(k):
                    bad = (passive[j] and x[j] < 0.0) or (not passive[j] and y[j] < 0.0)
                    if bad and (full or j == last):
                        passive[j] = not passive[j]
                _solve_or_restart(G, C[i], passive, x, y, L, idx)
            if not done:  # BPP cycled (a singular or badly conditioned G): coordinate descent
                for j in range(k):
                    x[j] = x[j] if (passive[j] and x[j] > 0.0) else 0.0
                    passive[j] = True
                if not _cd_row(G, C[i], x, 2000):
                    unsolved[c] += 1
            for j in range(k):
                A[i, j] = x[j] if (passive[j] and x[j] > 0.0) else zero
    return unsolved


@njit(**PARALLEL)
def kl_newton_sweep(X, P, A, B, colsum, cols, l1, l2, max_newton, eps, pgrad_sq):
    """One coordinate-Newton KL sweep over every row of ``A`` (in place), see ``_newton``.

    ``P = A Bᵀ`` (dense) is kept up to date where ``X > 0``; ``cols`` is ``arange(n_cols)``;
    ``pgrad_sq[i]`` receives row i's squared projected gradient.
    """
    for i in prange(X.shape[0]):
        pgrad_sq[i] = newton_row(X[i], cols, P[i], A[i], B, colsum, l1, l2, max_newton, eps)


@njit(**SERIAL)
def finite_non_negative(x):
    """Whether every entry of the 1-D array ``x`` is finite and ``≥ 0`` (one pass, stopping
    at the first that is not): the validation's fast path for plain float arrays."""
    for p in range(x.shape[0]):
        v = x[p]
        if not (v >= 0 and v < np.inf):  # NaN fails both
            return False
    return True


# Serial twins (see :func:`nmf_numba._numba.serial_twin`): the same kernels for the compiled
# small-problem loop and for inputs too small to pay for waking Numba's thread pool.
mu_apply_serial = serial_twin(mu_apply)
mu_ratio_serial = serial_twin(mu_ratio)
beta_terms_serial = serial_twin(beta_terms)
residual_sq_serial = serial_twin(residual_sq)
pow_rows_serial = serial_twin(pow_rows)
sum_sq_serial = serial_twin(sum_sq)
