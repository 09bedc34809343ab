"""Kernels on CSR matrices given as scipy's ``(data, indices, indptr)`` arrays.

Same conventions as :mod:`nmf_numba.kernels.dense` (tall factors, ``X ≈ A Bᵀ``, scalars in the
arrays' dtype, per-row partial sums).  Nothing here ever forms a dense rows×cols array: the model
``A Bᵀ`` is evaluated only at the stored entries, one k-long dot product each.
"""

import numpy as np
from numba import njit, prange

from .._numba import PARALLEL, PARALLEL_SUMS, SERIAL, serial_twin
from ._newton import newton_row
from ._scalar import divergence_terms, power

# Fixed number of parallel chunks (work split independent of the thread count).
_CHUNKS = 64


@njit(inline="always", **SERIAL)
def _chunking(n_rows):
    """``(n_chunks, rows per chunk)`` of the row-chunked parallel loops."""
    n_chunks = min(_CHUNKS, max(n_rows, 1))
    return n_chunks, (n_rows + n_chunks - 1) // n_chunks

# The inner loops accumulate into one output row.  Taking four stored entries per step breaks
# the load-add-store chain through that row into a quarter as many links (the README's
# performance section has the measurement).


@njit(**PARALLEL_SUMS)
def spmm(data, indices, indptr, B, out):
    """``out ← X B`` for CSR ``X`` (rows×cols) and dense ``B`` (cols×k)."""
    n_rows = indptr.shape[0] - 1
    k = B.shape[1]
    zero = out.dtype.type(0)
    for i in prange(n_rows):
        for t in range(k):
            out[i, t] = zero
        p, end = indptr[i], indptr[i + 1]
        while p + 4 <= end:
            x0, x1, x2, x3 = data[p], data[p + 1], data[p + 2], data[p + 3]
            j0, j1, j2, j3 = indices[p], indices[p + 1], indices[p + 2], indices[p + 3]
            for t in range(k):
                out[i, t] += (x0 * B[j0, t] + x1 * B[j1, t]) + (x2 * B[j2, t] + x3 * B[j3, t])
            p += 4
        while p < end:
            x, j = data[p], indices[p]
            for t in range(k):
                out[i, t] += x * B[j, t]
            p += 1


@njit(**SERIAL)
def _ratio_of_model(x, v, beta, eps, two):
    """``x · v^(β−2)``, with ``v`` clipped at eps when β < 2 (scikit-learn's guard).

    Deliberately not inlined into the Numba IR: with its β branches written out at each of
    the five call sites of :func:`_mu_ratio_rows` the kernel compiles much more slowly, at the
    same speed."""
    if beta < two and v < eps:
        v = eps
    if beta == two / two:
        return x / v
    if beta == two - two:
        return x / (v * v)
    return x * power(v, beta - two, two / two)


@njit(inline="always", **SERIAL)
def _ratio(x, a_row, b_row, beta, eps):
    """``x · v^(β−2)`` with ``v = a_row · b_row`` (see :func:`_ratio_of_model`)."""
    return _ratio_of_model(x, _model(a_row, b_row), beta, eps, a_row.dtype.type(2))


@njit(inline="always", **SERIAL)
def _model(a_row, b_row):
    """``a_row · b_row`` in their dtype."""
    zero = a_row.dtype.type(0)
    # four partial sums: a dot product the compiler can vectorise without reassociating
    v0 = v1 = v2 = v3 = zero
    k = a_row.shape[0]
    t = 0
    while t + 4 <= k:
        v0 += a_row[t] * b_row[t]
        v1 += a_row[t + 1] * b_row[t + 1]
        v2 += a_row[t + 2] * b_row[t + 2]
        v3 += a_row[t + 3] * b_row[t + 3]
        t += 4
    while t < k:
        v0 += a_row[t] * b_row[t]
        t += 1
    return (v0 + v1) + (v2 + v3)


@njit(**SERIAL)
def _mu_ratio_rows(lo, hi, data, indices, indptr, A, B, beta, eps, out):
    """Rows ``lo:hi`` of :func:`mu_ratio_times`."""
    k = B.shape[1]
    zero = out.dtype.type(0)
    for i in range(lo, hi):
        for t in range(k):
            out[i, t] = zero
        a_row = A[i]
        p, end = indptr[i], indptr[i + 1]
        while p + 4 <= end:
            j0, j1, j2, j3 = indices[p], indices[p + 1], indices[p + 2], indices[p + 3]
            r0 = _ratio(data[p], a_row, B[j0], beta, eps)
            r1 = _ratio(data[p + 1], a_row, B[j1], beta, eps)
            r2 = _ratio(data[p + 2], a_row, B[j2], beta, eps)
            r3 = _ratio(data[p + 3], a_row, B[j3], beta, eps)
            for t in range(k):
                out[i, t] += (r0 * B[j0, t] + r1 * B[j1, t]) + (r2 * B[j2, t] + r3 * B[j3, t])
            p += 4
        while p < end:
            j = indices[p]
            r = _ratio(data[p], a_row, B[j], beta, eps)
            for t in range(k):
                out[i, t] += r * B[j, t]
            p += 1


@njit(**PARALLEL)
def mu_ratio_times(data, indices, indptr, A, B, beta, eps, out):
    """Fused MU numerator ``out ← (X ⊙ (A Bᵀ)^(β−2)) B`` over the stored entries of X.

    One pass over each row: the model value ``a_i · b_j`` is computed at each stored ``(i, j)``,
    clipped at ``eps`` when β < 2 (scikit-learn's guard), turned into the ratio and accumulated.

    The parallel loop runs over a fixed number of row chunks and calls a serial function for
    each: Numba's parallel transformation is slow on a large loop body (the README's
    performance section gives the compile times both ways; the speed is the same).
    """
    n_rows = indptr.shape[0] - 1
    n_chunks, per_chunk = _chunking(n_rows)
    for c in prange(n_chunks):
        _mu_ratio_rows(c * per_chunk, min(n_rows, (c + 1) * per_chunk), data, indices, indptr,
                       A, B, beta, eps, out)


@njit(inline="always", **SERIAL)
def _kl_terms(x, v, eps):
    """``(x log(x/v), x)`` in float64 for a stored entry with ``x > eps``, else zeros."""
    if np.float64(x) > eps:
        return divergence_terms(np.float64(x), np.float64(v), 1.0, eps)
    return 0.0, 0.0


@njit(**SERIAL)
def _kl_measured_rows(lo, hi, data, indices, indptr, A, B, eps, out, terms):
    """Rows ``lo:hi`` of :func:`kl_ratio_times_measured`."""
    k = B.shape[1]
    zero = out.dtype.type(0)
    for i in range(lo, hi):
        for t in range(k):
            out[i, t] = zero
        a_row = A[i]
        s1 = s2 = s_model = 0.0
        p, end = indptr[i], indptr[i + 1]
        while p < end:
            # two stored entries per step when there are two (see the module's note)
            j0 = indices[p]
            j1 = indices[p + 1] if p + 1 < end else j0
            v0 = _model(a_row, B[j0])
            v1 = _model(a_row, B[j1])
            x0 = data[p]
            x1 = data[p + 1] if p + 1 < end else zero
            r0 = x0 / (eps if v0 < eps else v0)
            r1 = x1 / (eps if v1 < eps else v1)
            for t in range(k):
                out[i, t] += r0 * B[j0, t] + r1 * B[j1, t]
            t1, t2 = _kl_terms(x0, v0, eps)
            s1, s2, s_model = s1 + t1, s2 + t2, s_model + np.float64(v0)
            if p + 1 < end:
                t1, t2 = _kl_terms(x1, v1, eps)
                s1, s2, s_model = s1 + t1, s2 + t2, s_model + np.float64(v1)
            p += 2
        terms[i, 0] = s1
        terms[i, 1] = s2
        terms[i, 2] = s_model


@njit(**PARALLEL)
def kl_ratio_times_measured(data, indices, indptr, A, B, eps, out, terms):
    """The KL MU numerator ``out ← (X ⊘ (A Bᵀ)) B`` (as :func:`mu_ratio_times` with β = 1)
    and, from the same model values, the stored-entry sums of ``D_KL(X | A Bᵀ)`` at the
    pair ``(A, B)`` it was given: ``terms[i] = (Σ x log(x/v), Σ x, Σ v)`` over row i's stored
    entries (float64; the first two over ``x > eps``, with v clipped at eps as in
    :func:`beta_terms`).  The objective then costs one ``log`` per stored entry instead of a
    pass of its own (the over-relaxed MU engine checks it every iteration)."""
    n_rows = indptr.shape[0] - 1
    n_chunks, per_chunk = _chunking(n_rows)
    for c in prange(n_chunks):
        _kl_measured_rows(c * per_chunk, min(n_rows, (c + 1) * per_chunk), data, indices,
                          indptr, A, B, eps, out, terms)


@njit(inline="always", **SERIAL)
def _dot64(a_row, b_row):
    """``a_row · b_row`` accumulated in float64 (for losses, whatever the factors' dtype)."""
    v = 0.0
    for t in range(a_row.shape[0]):
        v += np.float64(a_row[t]) * np.float64(b_row[t])
    return v


@njit(**PARALLEL)
def beta_terms(data, indices, indptr, A, B, beta, eps):
    """Per-row stored-entry sums of ``D_β(X | A Bᵀ)`` in float64, as in the dense ``beta_terms``.

    Returns an (n_rows, 2) array whose column sums are ``(s1, s2)``; the term over every entry
    (``Σ A Bᵀ`` or ``Σ (A Bᵀ)^β``) is computed by the caller without densifying X.
    """
    n_rows = indptr.shape[0] - 1
    part = np.zeros((n_rows, 2))
    for i in prange(n_rows):
        s1 = 0.0
        s2 = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            x = np.float64(data[p])
            if x <= eps:
                continue
            t1, t2 = divergence_terms(x, _dot64(A[i], B[indices[p]]), beta, eps)
            s1 += t1
            s2 += t2
        part[i, 0] = s1
        part[i, 1] = s2
    return part


@njit(**PARALLEL)
def residual_terms(data, indices, indptr, A, B):
    """Per-row ``(Σ (x − v)², Σ v²)`` over the stored entries, ``v = a_i · b_j``, in float64.

    With ``‖A Bᵀ‖²`` from the Gram matrices, ``‖X − A Bᵀ‖² = Σ (x − v)² + ‖A Bᵀ‖² − Σ v²``: the
    cancellation left is in float64 and of the model's unstored part only, where the shorter
    ``‖X‖² − 2⟨X, A Bᵀ⟩ + ‖A Bᵀ‖²`` cancels down to the residual (1e-4 relative residuals came
    out twice too large in float32).
    """
    n_rows = indptr.shape[0] - 1
    part = np.zeros((n_rows, 2))
    for i in prange(n_rows):
        s1 = 0.0
        s2 = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            v = _dot64(A[i], B[indices[p]])
            r = np.float64(data[p]) - v
            s1 += r * r
            s2 += v * v
        part[i, 0] = s1
        part[i, 1] = s2
    return part


@njit(**PARALLEL)
def model_stored(data, indices, indptr, A, B, out):
    """``out[p] ← a_i · b_j`` at every stored entry ``p = (i, j)`` (the model, in X's layout)."""
    n_rows = indptr.shape[0] - 1
    zero = out.dtype.type(0)
    for i in prange(n_rows):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            v = zero
            for t in range(A.shape[1]):
                v += A[i, t] * B[j, t]
            out[p] = v


@njit(**PARALLEL)
def kl_newton_sweep(data, indices, indptr, P, A, B, colsum, l1, l2, max_newton, eps, pgrad_sq):
    """One coordinate-Newton KL sweep over every row of ``A`` (in place), see ``_newton``.

    ``P`` holds the model at the stored entries (``model_stored``) and is kept up to date;
    ``pgrad_sq[i]`` receives row i's squared projected gradient.
    """
    n_rows = indptr.shape[0] - 1
    for i in prange(n_rows):
        start, end = indptr[i], indptr[i + 1]
        pgrad_sq[i] = newton_row(
            data[start:end], indices[start:end], P[start:end], A[i], B, colsum, l1, l2,
            max_newton, eps,
        )


@njit(**PARALLEL)
def kl_newton_sweep_rows(data, indices, indptr, P, A, B, colsums, l1, l2, max_newton, eps,
                         pgrad_sq):
    """:func:`kl_newton_sweep` with each row's own column sums ``colsums[i]`` (float64,
    rows×k): observed-only and weighted data, where row i's linear term is
    ``Σ_{j stored} w_ij b_j`` and ``data`` holds ``w ⊙ x`` (the sweep's sums over the stored
    entries are linear in x, so the weights enter through the data)."""
    n_rows = indptr.shape[0] - 1
    for i in prange(n_rows):
        start, end = indptr[i], indptr[i + 1]
        pgrad_sq[i] = newton_row(
            data[start:end], indices[start:end], P[start:end], A[i], B, colsums[i], l1, l2,
            max_newton, eps,
        )


@njit(**PARALLEL)
def masked_hals_rows(data, indices, indptr, weights, A, B, l1, l2, n_sweeps, change):
    """Coordinate descent for ``½ Σ_{(i,j) stored} w_ij (x_ij − a_i·b_j)² + l1·Σ A +
    ½·l2·‖A‖²``: only the stored (observed) entries count, explicit zeros included.

    Each row has its own Gram matrix ``G_i = Σ_{j stored in row i} w_ij b_j b_jᵀ + l2·I`` and
    linear term ``c_i = Σ w_ij x_ij b_j − l1`` (as in ALS for recommender systems, weighted as
    in weighted low-rank approximation); ``n_sweeps`` cyclic sweeps over the row's k
    coordinates then minimise it exactly one coordinate at a time.  ``weights`` is aligned
    with ``data``; an empty array means every weight is 1 (the masked fit, whose arithmetic
    is then exactly the unweighted kernel's).  ``change[i]`` receives
    ``‖a_i,new − a_i,old‖²``.
    """
    n_rows = indptr.shape[0] - 1
    k = A.shape[1]
    weighted = weights.shape[0] > 0
    n_chunks, per_chunk = _chunking(n_rows)
    for ch in prange(n_chunks):
        G = np.empty((k, k))
        c = np.empty(k)
        grad = np.empty(k)
        for i in range(ch * per_chunk, min(n_rows, (ch + 1) * per_chunk)):
            for r in range(k):
                c[r] = -l1
                for t in range(k):
                    G[r, t] = 0.0
                G[r, r] = l2
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                x = np.float64(data[p])
                if weighted:
                    w = np.float64(weights[p])
                    for r in range(k):
                        wb = w * np.float64(B[j, r])
                        c[r] += x * wb
                        for t in range(r, k):
                            G[r, t] += wb * np.float64(B[j, t])
                    continue
                for r in range(k):
                    b = np.float64(B[j, r])
                    c[r] += x * b
                    for t in range(r, k):
                        G[r, t] += b * np.float64(B[j, t])
            for r in range(k):
                for t in range(r):
                    G[r, t] = G[t, r]
            # gradient G a − c, kept current with one axpy per coordinate move
            for r in range(k):
                s = -c[r]
                for t in range(k):
                    s += G[r, t] * np.float64(A[i, t])
                grad[r] = s
            moved = 0.0
            for _ in range(n_sweeps):
                for r in range(k):
                    if G[r, r] <= 0.0:
                        continue
                    old = np.float64(A[i, r])
                    new = old - grad[r] / G[r, r]
                    if new < 0.0:
                        new = 0.0
                    new_value = A.dtype.type(new)
                    delta = np.float64(new_value) - old
                    if delta != 0.0:
                        A[i, r] = new_value
                        moved += delta * delta
                        for t in range(k):
                            grad[t] += delta * G[t, r]
            change[i] = moved


@njit(**PARALLEL)
def stored_power_sum(data, indices, indptr, A, B, beta, eps):
    """Per-row ``Σ_{(i,j) stored} v_ij^β`` (``v = a_i·b_j``, clipped at eps for β < 1), float64:
    the model term of a β-divergence restricted to the stored (observed) entries."""
    n_rows = indptr.shape[0] - 1
    part = np.zeros(n_rows)
    for i in prange(n_rows):
        s = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            v = _dot64(A[i], B[indices[p]])
            if beta < 1.0 and v < eps:
                v = eps
            s += v if beta == 1.0 else v**beta
        part[i] = s
    return part


@njit(**PARALLEL)
def weighted_beta_terms(data, indices, indptr, weights, A, B, beta, eps):
    """Per-row weighted sums of ``D_β(X | A Bᵀ)`` over the stored entries, float64: an
    (n_rows, 3) array whose column sums are ``(Σ w·t1, Σ w·t2, Σ w·v^β)``, with ``(t1, t2)``
    the stored-entry terms of :func:`beta_terms` (over ``x > eps``, ``v`` clipped at eps) and
    ``v^β`` the model term (``v`` for β = 1, clipped at eps for β < 1 as in
    :func:`stored_power_sum`; 0 for β = 0, whose model term is the count ``Σ w``).  With every
    weight 1 these are the sums of :func:`beta_terms` and :func:`stored_power_sum`."""
    n_rows = indptr.shape[0] - 1
    part = np.zeros((n_rows, 3))
    for i in prange(n_rows):
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            w = np.float64(weights[p])
            v = _dot64(A[i], B[indices[p]])
            x = np.float64(data[p])
            if x > eps:
                t1, t2 = divergence_terms(x, v, beta, eps)
                s1 += w * t1
                s2 += w * t2
            if beta != 0.0:
                if beta < 1.0 and v < eps:
                    v = eps
                s3 += w * (v if beta == 1.0 else v**beta)
        part[i, 0] = s1
        part[i, 1] = s2
        part[i, 2] = s3
    return part


@njit(**PARALLEL)
def weighted_residual(data, indices, indptr, weights, A, B):
    """Per-row ``Σ w (x − v)²`` over the stored entries, ``v = a_i · b_j``, in float64 (the
    weighted least-squares data term without its ½)."""
    n_rows = indptr.shape[0] - 1
    part = np.zeros(n_rows)
    for i in prange(n_rows):
        s = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            r = np.float64(data[p]) - _dot64(A[i], B[indices[p]])
            s += np.float64(weights[p]) * (r * r)
        part[i] = s
    return part


# Serial twins (see :func:`nmf_numba._numba.serial_twin`), as in :mod:`.dense`.
spmm_serial = serial_twin(spmm)
mu_ratio_times_serial = serial_twin(mu_ratio_times)
beta_terms_serial = serial_twin(beta_terms)
residual_terms_serial = serial_twin(residual_terms)
masked_hals_rows_serial = serial_twin(masked_hals_rows)
weighted_residual_serial = serial_twin(weighted_residual)
