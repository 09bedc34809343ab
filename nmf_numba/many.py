"""``nmf_many``: many independent fits in one call, side by side on the cores.

Small fits leave a machine's cores idle: below :data:`nmf_numba._threads.settings.
small_problem` stored entries a fit runs on one thread (waking thread pools costs more than its
kernels).  ``nmf_many`` runs a stack or a list of such problems at once: each fit in the
compiled loop of :mod:`nmf_numba._compiled`, the fits in a ``prange`` over problems.  Each
problem's fit is exactly the single call's, bit for bit.
"""

import dataclasses
import inspect
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from . import _compiled
from ._loop import Stopping, build_result
from ._random import as_rng
from ._sklearn import convergence_warning
from ._threads import init_threads
from .init import _initialize, check_n_components
from .nmf import _validate, nmf

__all__ = ["nmf_many", "NMFManyResult"]

_OPTIONS = {name: parameter.default
            for name, parameter in inspect.signature(nmf).parameters.items()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY}
"""nmf()'s keyword arguments and their defaults: nmf_many takes the same."""


@dataclass
class NMFManyResult:
    """What :func:`nmf_many` returns.

    For a stack ``(p, m, n)``: ``W`` is ``(p, m, k)`` and ``H`` ``(p, k, n)``; for a list of
    matrices, lists of each problem's ``W`` and ``H``.  ``loss``, ``data_loss``, ``n_iter`` and
    ``converged`` are arrays of length p.  ``results[i]`` (also ``result[i]``) is problem i's
    complete :class:`~nmf_numba.NMFResult`, history included."""

    W: object
    H: object
    loss: np.ndarray
    data_loss: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    results: list = field(repr=False)

    def __len__(self):
        return len(self.results)

    def __getitem__(self, i):
        return self.results[i]


NMFManyResult.__module__ = "nmf_numba"


def _problems(Xs):
    """``(list of 2-D problems, stacked)`` from a 3-D array or a sequence of matrices."""
    if sp.issparse(Xs):
        raise TypeError("nmf_many takes a 3-D array (p, m, n) or a list of matrices; for one "
                        "sparse matrix call nmf().")
    if isinstance(Xs, (list, tuple)):
        if not Xs:
            raise ValueError("nmf_many needs at least one matrix, got an empty sequence.")
        return list(Xs), False
    stack = np.asarray(Xs)
    if stack.ndim != 3:
        raise ValueError(f"nmf_many takes a 3-D array (p, m, n) or a list of matrices; got an "
                         f"array of shape {stack.shape}.")
    if stack.shape[0] == 0:
        raise ValueError("nmf_many needs at least one matrix, got a stack of 0.")
    return [stack[i] for i in range(stack.shape[0])], True


def _per_problem(value, p, name):
    """``value`` for each of p problems: a list/tuple/1-D array of p values is one per
    problem, anything else is shared."""
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        if len(value) != p:
            raise ValueError(f"{name} has {len(value)} entries for {p} problems: pass one per "
                             "problem or a single value for all.")
        return list(value)
    return [value] * p


def _per_problem_init(init, p):
    """The start of each problem: a name (shared), one ``(W0, H0)`` pair for all, a pair of
    stacks ``(W0s (p, m, k), H0s (p, k, n))`` or a list of p pairs."""
    if isinstance(init, tuple) and len(init) == 2 and np.ndim(init[0]) == 3:
        W0s, H0s = init
        if len(W0s) != p or len(H0s) != p:
            raise ValueError(f"init's stacks hold {len(W0s)} and {len(H0s)} starts for {p} "
                             "problems.")
        return [(W0s[i], H0s[i]) for i in range(p)]
    if isinstance(init, list):
        if len(init) != p:
            raise ValueError(f"init has {len(init)} entries for {p} problems.")
        return init
    return [init] * p


def _per_problem_mask(mask, p):
    """The mask of each problem: a list or tuple of p masks (each None, a 2-D array or a sparse
    pattern) is one per problem; anything else is shared."""
    if isinstance(mask, (list, tuple)) and all(
            m is None or sp.issparse(m) or np.ndim(m) == 2 for m in mask):
        if len(mask) != p:
            raise ValueError(f"mask has {len(mask)} entries for {p} problems: pass one per "
                             "problem (None for complete data) or a single mask for all.")
        return list(mask)
    return [mask] * p


def nmf_many(Xs, n_components=None, **options):
    """Fit NMF to each of many matrices: ``[nmf(X, n_components, **options) for X in Xs]``,
    with the fits side by side on the cores.

    Parameters
    ----------
    Xs : array (p, m, n), or a list of p matrices (dense or sparse, shapes may differ)
        The problems.
    n_components : int or None
        As in :func:`nmf`, for every problem.
    **options
        :func:`nmf`'s keyword arguments, the same for every problem, except:

        * ``random_state``: one value for all (an int seeds each problem alike; a shared
          Generator or RandomState is drawn from problem after problem, as a loop of calls
          would), or a sequence of p values, one per problem;
        * ``init``: a name for all, or a pair of stacks ``(W0s (p, m, k), H0s (p, k, n))``, or
          a list of p ``(W0, H0)`` pairs;
        * ``mask``: one for all, or a list of p masks (each None, a boolean array or a sparse
          pattern), e.g. the folds of a cross-validation.

    Returns
    -------
    NMFManyResult
        Problem i's fit equals ``nmf(Xs[i], n_components, **its options)`` bit for bit.

    Notes
    -----
    The fits that the compiled small-problem loop runs (:mod:`nmf_numba._compiled`: "cd",
    "hals" and "mu" without ``accelerate``, graphs, nsNMF, ``shuffle`` or ``stop="pgrad"``,
    "cd" and "hals" with missing values, below the small-problem size, and without ``callback``,
    ``time_limit``, ``verbose`` or ``n_init > 1``) run together, one per thread at a time, the
    BLAS on one thread; each other fit is a call of :func:`nmf` after them.  Problems whose
    fit ends on ``max_iter`` give one ConvergenceWarning for the call, not one each.  The
    validation and the initialisation run in Python, problem after problem: for tiny
    matrices the NNDSVD start (a randomized SVD) can cost more than the fit, and passing
    starts (``init``) or ``init="random"`` avoids it.
    """
    unknown = set(options) - set(_OPTIONS)
    if unknown:
        raise TypeError(f"nmf_many() got unexpected keyword arguments {sorted(unknown)}; it "
                        f"takes nmf()'s: {sorted(_OPTIONS)}.")
    if isinstance(n_components, str) or options.get("max_components") is not None:
        raise ValueError("nmf_many takes an int (or None) n_components; choose ranks with "
                         "nmf_numba.select_rank or nmf(X, 'auto') per matrix.")
    options = {**_OPTIONS, **options}
    options.pop("max_components")
    problems, stacked = _problems(Xs)
    p = len(problems)
    seeds = _per_problem(options.pop("random_state"), p, "random_state")
    inits = _per_problem_init(options.pop("init"), p)
    masks = _per_problem_mask(options.pop("mask"), p)
    t_start = time.perf_counter()
    results, batch, last = [None] * p, [], (None, None, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", convergence_warning())
        for i, X in enumerate(problems):
            mine = dict(options, init=inits[i], random_state=seeds[i], mask=masks[i])
            if X is last[0] and masks[i] is last[1]:  # replicates: validated and held once
                fit = _same_data(last[2], X, n_components, inits[i], seeds[i])
            elif sp.issparse(X) or np.ndim(X) == 2:
                fit = _validate(X, n_components, **mine)
            else:
                raise ValueError(f"problem {i} has shape {np.shape(X)}: each must be 2-D.")
            last = (X, masks[i], fit)
            if fit.n_init > 1 or not _compiled.batchable(fit):
                results[i] = nmf(X, n_components, **mine)  # in order: shared draws as a loop
                continue
            with init_threads(fit.data.X_op.n_stored):
                W0, H0 = _initialize(fit.init_data, fit.k, fit.init, fit.random_state)
            batch.append((i, fit, np.ascontiguousarray(W0, dtype=fit.data.dtype),
                          np.ascontiguousarray(H0.T, dtype=fit.data.dtype),
                          Stopping(fit.stop, fit.tol, fit.beta, None, None, t_start)))
    at_max_iter = sum(issubclass(w.category, convergence_warning()) for w in caught)
    for w in caught:  # anything else the single calls said, said once each
        if not issubclass(w.category, convergence_warning()):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if batch:
        indices, fits, Ws, Hts, rules = zip(*batch)
        outcomes = _compiled.run_many(fits, Ws, Hts, rules)
        for i, fit, W, Ht, outcome in zip(indices, fits, Ws, Hts, outcomes):
            at_max_iter += outcome.stop_reason == "max_iter" and fit.tol > 0
            results[i] = build_result(W, Ht, outcome, fit.beta, fit.solver.name,
                                      fit.smoothness, accelerated=fit.accelerate,
                                      normalize=fit.normalize)
    if at_max_iter:
        warnings.warn(f"{at_max_iter} of {p} fits reached max_iter={options['max_iter']} "
                      f"before their tol={options['tol']:g} rule was met. Increase max_iter "
                      "or tol to silence this.", convergence_warning(), stacklevel=2)
    return _assemble(results, stacked)


def _same_data(fit, X, n_components, init, random_state):
    """The validated fit of a problem whose matrix (the same object) and options are those of
    ``fit``'s, from another start: the data (with its transpose and norms) is shared, not
    validated and copied again; only the start's arguments are checked."""
    as_rng(random_state)  # the error _validate would give
    return dataclasses.replace(fit, init=init, random_state=random_state,
                               k=check_n_components(n_components, X, init))


def _assemble(results, stacked):
    """The :class:`NMFManyResult` of the problems' results."""
    gather = np.stack if stacked else list
    return NMFManyResult(
        W=gather([r.W for r in results]), H=gather([r.H for r in results]),
        loss=np.array([r.loss for r in results]),
        data_loss=np.array([r.data_loss for r in results]),
        n_iter=np.array([r.n_iter for r in results]),
        converged=np.array([r.converged for r in results]),
        results=list(results))
