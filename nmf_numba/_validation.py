"""Input checks with messages a user can act on.  Nothing here modifies its input."""

import copy
import numbers

import numpy as np
import scipy.sparse as sp
from ._sklearn import assert_all_finite, check_array, check_non_negative, check_scalar

from .kernels.dense import finite_non_negative
from .losses import BETA_LOSSES

INITS = ("auto", "random", "nndsvd", "nndsvda", "nndsvdar")


def _check_compressed_structure(X, name):
    """Reject a sparse matrix whose index arrays would make ``tocsr()`` or a kernel read out of
    bounds: scipy's ``check_format(full_check=True)`` for CSR, CSC and BSR, our own check for COO
    (scipy has no public one)."""
    fmt = X.format.upper()
    if X.format == "coo":
        row, col = np.asarray(X.row), np.asarray(X.col)
        if row.shape != col.shape or row.shape != np.shape(X.data):
            raise ValueError(f"{name}: invalid COO structure: row, col and data arrays have "
                             "different lengths. Fix the arrays or rebuild the matrix.")
        for idx, size, what in ((row, X.shape[0], "row"), (col, X.shape[1], "column")):
            if idx.size and (idx.min() < 0 or idx.max() >= size):
                raise ValueError(
                    f"{name}: invalid COO structure: {what} indices must lie in [0, {size}); "
                    f"found values in [{idx.min()}, {idx.max()}]. Fix the indices or the shape."
                )
        return
    fix = "Fix its index arrays (indices, indptr) or its shape."
    for what in ("indptr", "indices"):  # scipy only warns about these
        if np.asarray(getattr(X, what)).dtype.kind not in "iu":
            raise ValueError(f"{name}: invalid {fmt} structure: {what} has dtype "
                             f"{np.asarray(getattr(X, what)).dtype}, not an integer one. {fix}")
    try:  # on a shallow copy: scipy's check prunes and re-casts the arrays it checks
        copy.copy(X).check_format(full_check=True)
    except (ValueError, IndexError) as err:
        raise ValueError(
            f"{name}: invalid {fmt} structure: {str(err).rstrip('.')}. {fix}") from None
    # scipy checks indptr's order only when entries are stored; tocsr() follows it regardless
    if np.any(np.diff(np.asarray(X.indptr)) < 0):
        raise ValueError(f"{name}: invalid {fmt} structure: indptr must be a non-decreasing "
                         f"sequence. {fix}")


def _check_non_negative(values, name):
    """scikit-learn's check_non_negative, whose message adds how many entries, the minimum and
    the fix (scikit-learn's names only the problem)."""
    if not sp.issparse(values) and np.size(values) == 0:  # scikit-learn's min() needs an entry
        return
    try:
        check_non_negative(values, name)
    except ValueError as err:
        stored = values.data if sp.issparse(values) else np.asarray(values)
        n_neg = int(np.count_nonzero(stored < 0))
        raise ValueError(
            f"{str(err).rstrip('.')}: {n_neg} entr{'y is' if n_neg == 1 else 'ies are'} < 0 "
            f"(minimum {stored.min():g}). NMF needs non-negative data: shift or clip it first."
        ) from None


def check_data_with_nan(X, name="X"):
    """``(X, observed)``: like :func:`check_data`, but a dense X may hold NaN for missing
    values; they become 0 in a copy and ``observed`` is the boolean array of the others (None
    when there is no NaN)."""
    if sp.issparse(X):
        return check_data(X, name), None
    try:
        return check_data(X, name), None
    except ValueError as err:
        if "NaN" not in str(err):
            raise
    X = check_array(X, dtype=(np.float64, np.float32), order="C", ensure_all_finite="allow-nan",
                    input_name=name)
    missing = np.isnan(X)
    X = np.where(missing, X.dtype.type(0), X)
    return check_data(X, name), ~missing


def check_observed(X, nan_observed, mask, missing):
    """The observed pattern of a fit: None (every entry counts), a boolean array, a sparse
    pattern, or True ("the stored entries of sparse X")."""
    if not isinstance(missing, str) or missing not in ("zero", "unobserved"):
        raise ValueError(f"Invalid missing {missing!r}: use 'zero' or 'unobserved'.")
    if missing == "unobserved" and not sp.issparse(X):
        raise ValueError(
            "missing='unobserved' is for sparse X (only its stored entries count); for dense "
            "X mark missing entries with NaN or pass mask=."
        )
    observed = nan_observed
    if mask is not None:
        if sp.issparse(mask):
            pattern = sp.csr_matrix(mask)
            if pattern.shape != X.shape:
                raise ValueError(f"mask has shape {pattern.shape}, expected X's {X.shape}.")
            pattern.eliminate_zeros()
            mask_dense = None
        else:
            mask_dense = np.asarray(mask)
            if mask_dense.dtype != bool:
                raise TypeError(
                    f"mask must be a boolean array (True = observed), got dtype {mask_dense.dtype}."
                )
            if mask_dense.shape != X.shape:
                raise ValueError(f"mask has shape {mask_dense.shape}, expected X's {X.shape}.")
            pattern = mask_dense
        if nan_observed is not None:  # X is NaN where the mask says observed?
            if mask_dense is None:
                rows, cols = pattern.nonzero()  # the marked entries, without densifying
                conflict = np.any(~nan_observed[rows, cols])
            else:
                conflict = np.any(mask_dense & ~nan_observed)
            if conflict:
                raise ValueError("X is NaN at entries that mask marks as observed.")
        observed = pattern
    if observed is None and missing == "unobserved":
        observed = True
    n_observed = (X.nnz if observed is True else
                  None if observed is None else
                  observed.nnz if sp.issparse(observed) else int(np.count_nonzero(observed)))
    if n_observed == 0:
        raise ValueError("X has no observed entries (every entry is missing: NaN, outside the "
                         "mask, or not stored with missing='unobserved'): there is nothing to "
                         "fit.")
    return observed


def check_data(X, name="X"):
    """Return X as a C-contiguous float ndarray or a canonical CSR matrix (float32/float64).

    The input is never modified: any conversion, cast or canonicalisation works on a copy, and an
    input that needs none is returned as is.
    """
    if _plain_float_array(X, 2):
        return X  # scikit-learn's checks would accept it as is (they give the errors otherwise)
    if sp.issparse(X):
        if X.format in ("csr", "csc", "coo", "bsr"):
            _check_compressed_structure(X, name)
        if X.format not in ("csr", "csc", "coo"):
            X = X.tocsr()
    elif isinstance(X, (str, bytes)) or X is None:
        raise TypeError(f"{name} must be a 2-D array-like or a scipy.sparse matrix, got {X!r}.")
    else:
        _reject_text(X, name)
    X = check_array(
        X,
        accept_sparse="csr",
        dtype=(np.float64, np.float32),
        order="C",
        ensure_all_finite=True,
        ensure_2d=True,
        ensure_min_samples=1,
        ensure_min_features=1,
        input_name=name,
    )
    if sp.issparse(X):
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()  # also sorts the indices
        if isinstance(X, sp.sparray):
            X = sp.csr_matrix(X)
    _check_non_negative(X, name)
    return X


# The range of β that float64 can evaluate the β-divergence for: see check_beta_loss.
BETA_LIMIT = 100.0


def check_beta_loss(beta_loss):
    """β as a float, from a name or a number in [-BETA_LIMIT, BETA_LIMIT] = [-100, 100].

    The β-divergence is built from x^β, v^β and x·v^(β−1) (the MU step also x·v^(β−2)), summed
    over the entries.  float64 holds numbers up to e^709.78 (``log(finfo(float64).max)``), so
    |β| · |log x| must stay below 709.78 for every value x of X and of the model v: beyond that
    x^β overflows (or, on the other side of 1, underflows to 0 and the divergence loses the
    entry).  |β| <= 100 keeps values across [1e-3, 1e3] evaluable: 100 · log(1e3) = 690.8, which
    leaves a factor e^19 ≈ 1.8e8 for the sums over entries and the factors β, β − 1.  Beyond
    |β| = 709.78 no data whose values differ from 1 by more than a factor e can be evaluated at
    all.  Inside the range, data far from 1 can still overflow a fit (the digits, max 16, fit up
    to β ≈ 148 from the NNDSVDa start); the fit then raises a FloatingPointError that says to
    rescale X.
    """
    if isinstance(beta_loss, str):
        if beta_loss not in BETA_LOSSES:
            raise ValueError(
                f"Invalid beta_loss {beta_loss!r}: use one of {sorted(BETA_LOSSES)} or a float."
            )
        return BETA_LOSSES[beta_loss]
    if isinstance(beta_loss, bool) or not isinstance(beta_loss, numbers.Real):
        raise TypeError(f"beta_loss must be one of {sorted(BETA_LOSSES)} or an instance of "
                        f"float, not {type(beta_loss).__qualname__}.")
    try:
        return float(_scalar(beta_loss, "beta_loss", numbers.Real, min_val=-BETA_LIMIT,
                             max_val=BETA_LIMIT))
    except ValueError as err:
        if beta_loss != beta_loss:  # NaN: nothing to explain
            raise
        # check_scalar says where the bound is, not why
        raise ValueError(
            f"{str(err).rstrip('.')}: float64 cannot evaluate the powers x**beta_loss of the "
            f"beta-divergence beyond |beta_loss| = {BETA_LIMIT:g} (for values of X up to 1e3, "
            f"1e3**{BETA_LIMIT:g} = 1e{3 * BETA_LIMIT:g} is already near float64's max, "
            f"1.8e308). Use a beta_loss in [-{BETA_LIMIT:g}, {BETA_LIMIT:g}]."
        ) from None


def check_zeros_for_beta(X, beta):
    """β ≤ 0 is undefined where X has zeros (x log x, x/v terms with x = 0 and v → 0)."""
    if beta > 0:
        return
    if sp.issparse(X):
        has_zero = X.nnz < X.shape[0] * X.shape[1] or np.any(X.data == 0)
    else:
        has_zero = bool(np.any(X == 0))
    if has_zero:
        raise ValueError(
            f"beta_loss={beta:g} (<= 0) is undefined when X contains zeros, and a sparse X "
            "stores zeros implicitly. Add a small positive value to X, or use beta_loss > 0."
        )


def check_graph(graph, graph_reg, n_samples):
    """The affinity of graph-regularised NMF as canonical CSR float64, or None (no graph term)."""
    if graph is None:
        if graph_reg > 0:
            raise ValueError("graph_reg > 0 needs a graph: pass graph=A, e.g. nmf_numba.knn_graph(X).")
        return None
    if graph_reg == 0:
        return None
    if sp.issparse(graph):
        if graph.format in ("csr", "csc", "coo", "bsr"):  # corrupt indices would crash the copy
            _check_compressed_structure(graph, "graph")
        A = sp.csr_matrix(graph, dtype=np.float64, copy=True)
        A.sum_duplicates()
        A.eliminate_zeros()
    else:
        A = check_array(graph, dtype=np.float64, ensure_all_finite=False, input_name="graph")
    if A.ndim != 2 or A.shape != (n_samples, n_samples):
        raise ValueError(
            f"graph must be a square (n_samples, n_samples) = ({n_samples}, {n_samples}) "
            f"affinity between the rows of X, got shape {A.shape}."
        )
    assert_all_finite(A, input_name="graph")
    try:
        check_non_negative(A, "graph")
    except ValueError as err:  # scikit-learn's message names the problem, not the cause
        raise ValueError(f"{str(err).rstrip('.')}: graph must be non-negative (an affinity, not "
                         "a distance or Laplacian).") from None
    A = sp.csr_matrix(A)
    A.sort_indices()
    asymmetry = abs(A - A.T)
    scale = float(A.data.max()) if A.nnz else 0.0
    if asymmetry.nnz and asymmetry.max() > 1e-10 * scale:
        raise ValueError(
            "graph must be symmetric; symmetrise it first, e.g. A.maximum(A.T) or (A + A.T) / 2."
        )
    return A


def _scalar(value, name, target_type, min_val=None, max_val=None, include_boundaries="both"):
    """scikit-learn's check_scalar, plus the two values it lets through: a bool (an int
    subclass, never a count or a size) and NaN (it compares False with every bound)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an instance of "
                        f"{'int' if target_type is numbers.Integral else 'float'}, not bool.")
    if type(value) in _PLAIN[target_type] and _in_bounds(value, min_val, max_val,
                                                         include_boundaries):
        return value  # what check_scalar returns unchanged, without its cost (a small fit's)
    value = check_scalar(value, name, target_type, min_val=min_val, max_val=max_val,
                         include_boundaries=include_boundaries)
    if value != value:
        closed_low = include_boundaries in ("left", "both")
        if max_val is None:
            bounds = f"{'>=' if closed_low else '>'} {min_val}"
        else:
            closed_high = include_boundaries in ("right", "both")
            bounds = (f"in {'[' if closed_low else '('}{min_val}, "
                      f"{max_val}{']' if closed_high else ')'}")
        raise ValueError(f"{name} == nan, must be a number {bounds}.")
    return value


_PLAIN = {numbers.Integral: (int,), numbers.Real: (int, float)}


def _in_bounds(value, min_val, max_val, include_boundaries):
    """Whether ``value`` lies within check_scalar's bounds (False for NaN)."""
    low = (min_val is None or (value >= min_val if include_boundaries in ("left", "both")
                               else value > min_val))
    high = (max_val is None or (value <= max_val if include_boundaries in ("right", "both")
                                else value < max_val))
    return low and high


def check_int(value, name, minimum):
    """An int >= minimum (numpy integers too, bools not) as a Python int."""
    return int(_scalar(value, name, numbers.Integral, min_val=minimum))


def check_real(value, name, minimum, allow_none=False, strict=False):
    """A real number >= minimum (> if strict) as a float; +inf is allowed ("no limit"), NaN is
    not; None passes through if ``allow_none``."""
    if value is None and allow_none:  # check_scalar has no "None means no limit"
        return None
    return float(_scalar(value, name, numbers.Real, min_val=minimum,
                         include_boundaries="neither" if strict else "left"))


def check_finite_real(value, name, minimum, maximum=np.inf, *, include_maximum=True):
    """A finite real number in [minimum, maximum] (or [minimum, maximum) if not
    ``include_maximum``) as a float."""
    closed = include_maximum and maximum < np.inf  # an infinite maximum is excluded: finite
    return float(_scalar(value, name, numbers.Real, min_val=minimum, max_val=maximum,
                         include_boundaries="both" if closed else "left"))


def check_accelerate(accelerate):
    """``accelerate`` as True, False or "auto" (a ValueError for anything else)."""
    if isinstance(accelerate, str) and accelerate == "auto":
        return "auto"
    if not isinstance(accelerate, (bool, np.bool_)):
        raise ValueError(f"Invalid accelerate {accelerate!r}: use True, False or 'auto'.")
    return bool(accelerate)


def check_loop(max_iter, tol, time_limit, callback):
    """``(max_iter, tol, time_limit, callback)`` of a fit's loop, checked."""
    max_iter = check_int(max_iter, "max_iter", 1)
    tol = check_real(tol, "tol", 0.0)
    time_limit = check_real(time_limit, "time_limit", 0.0, allow_none=True, strict=True)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {callback!r}.")
    return max_iter, tol, time_limit, callback


def check_regularization(alpha_W, alpha_H, l1_ratio):
    """``(alpha_W, alpha_H, l1_ratio)`` as floats, ``alpha_H="same"`` resolved."""
    alpha_W = check_finite_real(alpha_W, "alpha_W", 0.0)
    if isinstance(alpha_H, str) and alpha_H == "same":
        alpha_H = alpha_W
    elif isinstance(alpha_H, str):
        raise ValueError(f"alpha_H == {alpha_H!r}, must be 'same' or a float >= 0.0.")
    else:
        alpha_H = check_finite_real(alpha_H, "alpha_H", 0.0)
    l1_ratio = check_finite_real(l1_ratio, "l1_ratio", 0.0, 1.0)
    return alpha_W, alpha_H, l1_ratio


def _reject_text(X, name):
    """A TypeError for arrays of strings or bytes (NumPy would parse "1.5" as a number)."""
    if isinstance(X, (list, tuple)):
        X = np.asarray(X)
    if isinstance(X, np.ndarray) and X.dtype.kind in "USV":
        raise TypeError(f"{name} holds text (dtype {X.dtype}), not numbers: convert it to a "
                        "numeric array first (.astype(float) if the strings are numbers).")


def _plain_float_array(X, ndim):
    """Whether ``X`` is a C-contiguous float32/float64 ndarray (not a subclass) of ``ndim``
    dimensions, none empty, with finite non-negative entries: what the checks accept unchanged.
    A small fit's validation is then one compiled pass over X instead of scikit-learn's
    ``check_array`` (about 60 µs per array, mostly looking for dataframes), which still checks
    every other input and gives the error messages."""
    return (type(X) is np.ndarray and X.ndim == ndim and X.dtype in _FLOATS
            and X.flags.c_contiguous and 0 not in X.shape
            and finite_non_negative(X.reshape(-1)))


_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def check_factor(A, shape, dtype, name):
    """Validate a user-given factor (initial W or H, or a factor passed to a metric); return a
    fresh C-contiguous array of ``dtype``."""
    if _plain_float_array(A, 2) and A.shape == tuple(shape):
        return np.array(A, dtype=dtype, order="C", copy=True)
    if sp.issparse(A):
        raise TypeError(f"{name} must be a dense array, got a sparse matrix.")
    _reject_text(A, name)
    A = check_array(A, dtype=None, ensure_all_finite=True, input_name=name, ensure_min_samples=1)
    if A.dtype.kind not in "biuf":  # object arrays of numbers are fine, anything else is not
        try:
            A = A.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must hold numbers, got dtype {A.dtype}.") from None
    if A.shape != tuple(shape):
        raise ValueError(f"{name} has shape {A.shape}, expected {tuple(shape)}.")
    _check_non_negative(A, name)
    return np.array(A, dtype=dtype, order="C", copy=True)


def check_magnitude(max_abs, sq_norm):
    """A ValueError when X's values are so large or small that their squares over- or
    underflow (the products and losses would be inf or 0, the factors NaN or meaningless)."""
    if max_abs > 0 and not 0 < sq_norm < np.inf:
        size = "small" if sq_norm == 0 else "large"
        raise ValueError(
            f"The values of X (max {max_abs:g}) are too {size} for floating point: their "
            "squares under- or overflow. Rescale X, e.g. X / X.max()."
        )


def check_op_magnitude(op):
    """:func:`check_magnitude` for a data operator (``op.X`` dense or CSR, ``op.sq_norm``)."""
    values = op.X.data if sp.issparse(op.X) else op.X
    check_magnitude(float(values.max()) if values.size else 0.0, op.sq_norm)


def check_fixed_components(fixed, k, name):
    """``fix_H`` / ``fix_W`` of :func:`nmf_numba.nmf` as a boolean array over the k components
    (True: fixed), or None when none is fixed (``None``, an empty list or an all-False mask),
    so that such a fit is today's fit exactly.

    Takes integer indices in ``[0, k)`` (each at most once) or a boolean mask of length k;
    anything else is a one-line error that names the argument."""
    if fixed is None:
        return None
    if sp.issparse(fixed) or isinstance(fixed, (str, bytes, dict, set, frozenset)):
        raise TypeError(f"{name} must be component indices or a boolean mask over the "
                        f"{k} components, got {type(fixed).__name__}.")
    try:
        values = np.asarray(fixed)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be component indices or a boolean mask over the {k} "
                        f"components, got {fixed!r}.") from None
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D (indices or a mask over the {k} components), got "
                         f"shape {values.shape}; for one component pass a list, e.g. [0].")
    if values.size == 0:
        return None
    if values.dtype == np.bool_:
        if values.shape[0] != k:
            raise ValueError(f"{name} is a boolean mask of length {values.shape[0]}, but there "
                             f"are {k} components: pass one entry per component.")
        mask = values.copy()
    elif values.dtype.kind in "iu":
        bad = values[(values < 0) | (values >= k)]
        if bad.size:
            raise ValueError(f"{name} holds component index {bad[0]}, out of range: indices "
                             f"run from 0 to {k - 1} (n_components={k}).")
        unique, counts = np.unique(values, return_counts=True)
        if np.any(counts > 1):
            raise ValueError(f"{name} lists component {unique[counts > 1][0]} more than once.")
        mask = np.zeros(k, dtype=bool)
        mask[values] = True
    else:
        raise TypeError(f"{name} must hold integer component indices or booleans, got dtype "
                        f"{values.dtype}.")
    return mask if mask.any() else None


NORMALIZE = ("H", "W", "both")
"""``normalize``'s values besides None (:func:`nmf_numba._loop.normalize_factors`)."""


def check_normalize(normalize, smoothness=0.0):
    """``normalize`` as None or one of :data:`NORMALIZE`; a ValueError otherwise, and with
    nsNMF (``smoothness > 0``), whose model ``W S H`` rescaling the factors would change."""
    if normalize is None:
        return None
    if not isinstance(normalize, str) or normalize not in NORMALIZE:
        raise ValueError(f"Invalid normalize {normalize!r}: use None, 'H', 'W' or 'both'.")
    if smoothness:
        raise ValueError("normalize is not supported with smoothness > 0: nsNMF's smoothing "
                         "matrix S does not commute with rescaling the components, so the "
                         "model W S H would change. Use smoothness=0 or normalize=None.")
    return normalize


def check_weights(weights, shape, mask):
    """Per-entry weights as a dense float64 array or canonical CSR float64 matrix (a copy), or
    None.  Refused: a wrong shape, negative, NaN or infinite weights, and weights with
    ``mask=`` (both say which entries count: pass ``weights * mask``)."""
    if weights is None:
        return None
    if mask is not None:
        raise ValueError("weights and mask both say which entries count: pass one, e.g. "
                         "weights=np.where(mask, weights, 0) (weight 0 = not observed).")
    if sp.issparse(weights):
        if weights.format in ("csr", "csc", "coo", "bsr"):
            _check_compressed_structure(weights, "weights")
        W = sp.csr_matrix(weights, dtype=np.float64, copy=True)
        W.sum_duplicates()
        values = W.data
    else:
        _reject_text(weights, "weights")
        W = np.array(weights, dtype=np.float64, order="C", copy=True) \
            if not isinstance(weights, np.ndarray) or weights.dtype.kind in "biuf" else None
        if W is None:
            raise TypeError(f"weights must hold numbers, got dtype {weights.dtype}.")
        values = W
    if W.ndim != 2 or W.shape != tuple(shape):
        raise ValueError(f"weights has shape {W.shape}, expected X's {tuple(shape)}.")
    if not np.all(np.isfinite(values)):
        raise ValueError("weights has NaN or infinite entries: weights must be finite numbers "
                         ">= 0 (0: the entry does not count).")
    if values.size and values.min() < 0:
        raise ValueError(f"weights has negative entries (minimum {values.min():g}): weights "
                         "must be >= 0 (0: the entry does not count).")
    return W


def check_sample_weight(sample_weight, n_samples):
    """Per-row weights as an (n_samples,) float64 array (a copy; a number is every row's), or
    None."""
    if sample_weight is None:
        return None
    if sp.issparse(sample_weight):
        raise TypeError("sample_weight must be a 1-D array of one weight per row of X.")
    _reject_text(sample_weight, "sample_weight")
    try:
        s = np.array(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("sample_weight must be a 1-D array of numbers, one per row of X.") \
            from None
    if s.ndim == 0:
        s = np.full(n_samples, float(s))
    if s.shape != (n_samples,):
        raise ValueError(f"sample_weight has shape {s.shape}, expected one weight per row of "
                         f"X: ({n_samples},).")
    if not np.all(np.isfinite(s)) or (s.size and s.min() < 0):
        raise ValueError("sample_weight must hold finite numbers >= 0 (0: the row does not "
                         "count).")
    return s


def counted_entries(X, observed, weights, sample_weight, mask):
    """``(X_fit, weights aligned with X_fit.data or None, observed_only)``: the entries the
    objective counts, for a validated X and :func:`check_observed`'s pattern.  Missing values
    alone (NaN, ``mask``, ``missing="unobserved"``) are the observed entries with weight 1;
    ``weights``/``sample_weight`` are checked here and go through
    :func:`nmf_numba._data.weighted_entries` (weights that are all 1 give the fit without)."""
    from ._data import observed_matrix, weighted_entries

    weights = check_weights(weights, X.shape, mask)
    sample_weight = check_sample_weight(sample_weight, X.shape[0])
    if weights is None and sample_weight is None:
        if observed is None:
            return X, None, False
        return observed_matrix(X, None if observed is True else observed), None, True
    return weighted_entries(X, observed, weights, sample_weight)
