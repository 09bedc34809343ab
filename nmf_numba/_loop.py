"""The iteration loop and what it returns, shared by every driver (one machine, Dask).

A driver hands :func:`run` an *engine*: the state of one fit (the factors and the data, on one
machine or on a cluster) with four methods::

    engine.iteration()   -> (w_step, h_step)   one W half-step then one H half-step (HalfSteps)
    engine.terms(h_step, ahead)
                         -> (data term, objective) of the current factors; h_step (or None)
                            may carry products from which the objective is cheap; ``ahead``
                            says the loop may iterate again (the Dask engine then computes
                            the objective in the next iteration's round)
    engine.pgrad_sq()    -> ‖∇ᴾf‖² of the current factors (only for stop="pgrad")
    engine.factors()     -> (W, H) copies for the callback

and the loop owns the rest: the stopping rules, the history, the callback, the time limit and
the finite-objective check.
"""

import contextlib
import time
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numba import njit

from ._numba import SERIAL
from ._sklearn import convergence_warning
from ._validation import NORMALIZE

__all__ = ["NMFResult", "IterationInfo", "Outcome", "Stopping", "run", "TOL_WINDOW", "STOPS",
           "NORMALIZE", "normalize_factors"]

TOL_WINDOW = 10
"""The tol rules compare objectives this many iterations apart (scikit-learn's MU rule), so
their meaning does not depend on how often the objective is evaluated: every iteration for
β = 2, where it is a by-product of the update, every ``TOL_WINDOW`` iterations otherwise,
where it costs about as much as an update."""

STOPS = ("objective", "pgrad", "sklearn", "relative")
STOP_CODES = {name: code for code, name in enumerate(STOPS)}
"""``stop`` as the integer :func:`tol_reached` takes."""
_OBJECTIVE, _PGRAD, _SKLEARN, _RELATIVE = range(4)
# the slots of a run's tolerance state (a float64 array, see :func:`tol_state`)
_F_INIT, _F_PREV, _E_INIT, _E_PREV, _V_INIT = range(5)


def tol_state(f_init, data_init):
    """The state :func:`tol_reached` keeps between checks, at the start of a run: the
    objective and scikit-learn's error ``sqrt(2 · data term)`` at the start and at the last
    window's end, and the first iteration's violation (NaN until then)."""
    error = np.sqrt(2.0 * max(data_init, 0.0))
    return np.array([f_init, f_init, error, error, np.nan])


@njit(**SERIAL)
def tol_reached(stop, tol, n_iter, f, data_term, violation, pgrad, state):
    """Whether the ``tol`` rule of ``stop`` (a :data:`STOP_CODES` value) stops the run at this
    objective check; updates ``state`` (:func:`tol_state`).  The one place of the rules, for
    the Python loop (:class:`Stopping`) and the compiled one (:mod:`nmf_numba._compiled`).

    ``violation``: scikit-learn's ``cd`` violation of this iteration when its rule applies
    (else NaN); ``pgrad``: the relative projected gradient (stop="pgrad", else NaN)."""
    window_end = n_iter % TOL_WINDOW == 0
    if not np.isnan(violation) and np.isnan(state[_V_INIT]):
        state[_V_INIT] = violation
    if stop == _PGRAD:
        converged = pgrad < tol
    elif not np.isnan(violation):
        converged = state[_V_INIT] == 0.0 or violation <= tol * state[_V_INIT]
    elif stop == _SKLEARN:
        error = np.sqrt(2.0 * max(data_term, 0.0))
        converged = (window_end and state[_E_INIT] > 0.0
                     and (state[_E_PREV] - error) / state[_E_INIT] < tol)
        if window_end:
            state[_E_PREV] = error
    elif stop == _RELATIVE:
        converged = window_end and (state[_F_PREV] - f) <= tol * abs(f)
    else:
        converged = window_end and (state[_F_PREV] - f) / state[_F_INIT] < tol
    if window_end:
        state[_F_PREV] = f
    return converged and (tol > 0 or state[_V_INIT] == 0.0)


def normalize_factors(W, H, mode):
    """``(W, H, scale)``: the factors of the model ``W H`` normalised and ordered (``mode``
    one of :data:`NORMALIZE`; ``W`` NumPy or Dask, ``H`` NumPy; new arrays, the inputs are
    not modified).

    With ``a_r = Σ_i W_ir`` and ``b_r = Σ_j H_rj``, component r carries ``d_r = a_r·b_r`` of
    the model's total (``Σ_ij W_ir H_rj``):

    * "H": rows of H sum to 1, W's columns times ``b_r`` (the model ``W H`` is unchanged);
    * "W": columns of W sum to 1, H's rows times ``a_r`` (the model is unchanged);
    * "both": both sum to 1 and ``scale = d``; the model is ``W diag(scale) H``.

    In every mode the components are sorted by ``d`` descending (RcppML's order, stable for
    ties): it does not depend on how the scale is split between the factors, so the order is
    the same for the three modes.  A component with ``d_r = 0`` (an all-zero column of W or
    row of H) contributes nothing: both of its vectors are returned as zeros, its scale is 0,
    and it comes last.  ``scale`` is None except for "both"; it has the factors' dtype.
    Sums are taken in float64.
    """
    a = np.asarray(W.sum(axis=0, dtype=np.float64))  # computes a Dask W's column sums
    b = H.sum(axis=1, dtype=np.float64)
    d = a * b
    live = d > 0
    order = np.argsort(-d, kind="stable")
    a, b, d, live = a[order], b[order], d[order], live[order]
    safe_a, safe_b = np.where(live, a, 1.0), np.where(live, b, 1.0)
    if mode == "H":
        w_factor, h_factor = np.where(live, b, 0.0), np.where(live, 1.0 / safe_b, 0.0)
    elif mode == "W":
        w_factor, h_factor = np.where(live, 1.0 / safe_a, 0.0), np.where(live, a, 0.0)
    else:
        w_factor, h_factor = np.where(live, 1.0 / safe_a, 0.0), np.where(live, 1.0 / safe_b, 0.0)
    W = W[:, order] * w_factor.astype(W.dtype)
    H = np.ascontiguousarray(H[order] * h_factor.astype(H.dtype)[:, None])
    scale = d.astype(H.dtype) if mode == "both" else None
    return W, H, scale


def smoothing_matrix(k, theta, dtype):
    """nsNMF's ``S = (1 − θ) I + (θ/k) 𝟙𝟙ᵀ`` (the identity for θ = 0)."""
    S = np.full((k, k), theta / k)
    S[np.diag_indices(k)] += 1.0 - theta
    return S.astype(dtype)


@dataclass
class NMFResult:
    """What :func:`nmf_numba.nmf` returns.

    Attributes
    ----------
    W : ndarray (n_samples, n_components)
    H : ndarray (n_components, n_features)
    n_iter : int
        Iterations run (one iteration updates W, then H).
    converged : bool
        True when the ``tol`` rule stopped the run.
    stop_reason : str
        Which rule stopped the run: "tol", "max_iter", "time_limit" or "callback".
    S, W_smoothed, reconstruct()
        nsNMF (``smoothness=θ > 0``): the model is ``W S H``; these give ``S``, ``W S`` and the
        model.  Every function of :mod:`nmf_numba.metrics` takes the result (``metric(X, res)``)
        and uses ``W S H``.
    normalize, scale
        ``normalize`` as passed to :func:`nmf_numba.nmf` (None, "H", "W" or "both"; see
        :func:`nmf_numba._loop.normalize_factors`).  With "both", W and H are the unit-sum
        factors and the model is ``W diag(scale) H``: :attr:`W_scaled` (``W diag(scale)``),
        :attr:`W_smoothed`, :meth:`reconstruct`, :meth:`labels` and the metrics use it.
        ``scale`` is None otherwise.
    loss : float
        Final objective: the data term plus every penalty, of the fit's factors (with
        ``normalize``, before it: penalties other than the graph's depend on how the scale is
        split between W and H, and the normalisation only changes that split).
    data_loss : float
        The data term: ``½‖X − WH‖²_F`` for β = 2, else the β-divergence ``D_β(X | WH)``.
    reconstruction_err : float
        ``sqrt(2 · data_loss)``: scikit-learn's ``reconstruction_err_`` (the Frobenius norm of
        the residual for β = 2).
    history : dict of equal-length ndarrays
        "iteration", "time" (seconds since the call started) and "objective", one entry per
        objective check, starting with the initialisation (iteration 0); with
        ``stop="pgrad"`` also "pgrad", the relative projected-gradient norm.
    beta : float
    solver : str
    accelerated : bool
        Whether the solver's accelerated variant ran (``accelerate``).
    fixed_H, fixed_W : boolean ndarray (n_components,)
        Which components were fixed (``fix_H``, ``fix_W``): those rows of H and columns of W
        are the start's, bit for bit.  All False when none was.
    """

    W: np.ndarray
    H: np.ndarray
    n_iter: int
    converged: bool
    stop_reason: str
    loss: float
    data_loss: float
    reconstruction_err: float
    history: dict = field(repr=False)
    beta: float = 2.0
    solver: str = "cd"
    smoothness: float = 0.0
    """nsNMF's θ."""
    run_losses: np.ndarray = None
    """Final objective of every run (``n_init`` of them); the result is run ``best_run``."""
    best_run: int = 0
    accelerated: bool = False
    rank_selection: object = None
    """``n_components="auto"``: the :class:`~nmf_numba.RankSelection` that chose the rank."""
    fixed_H: np.ndarray = None
    fixed_W: np.ndarray = None
    normalize: object = None
    """``normalize`` of the fit: None, "H", "W" or "both"."""
    scale: np.ndarray = None
    """``normalize="both"``: the components' scale ``d`` (descending), the model being
    ``W diag(scale) H``; None otherwise."""

    def labels(self):
        """The cluster of each sample: the argmax of its row of :attr:`W_scaled` (−1 for an
        all-zero row)."""
        W = self.W_scaled
        out = np.argmax(W, axis=1)
        out[~np.any(W > 0, axis=1)] = -1
        return out

    @property
    def W_scaled(self):
        """``W diag(scale)``: the sample factor on the model's scale (``W`` itself unless
        ``normalize="both"``), what ``transform(X, res.H)`` estimates."""
        return self.W if self.scale is None else self.W * self.scale

    @property
    def S(self):
        """nsNMF's smoothing matrix ``(1 − θ) I + (θ/k) 𝟙𝟙ᵀ`` (the identity for θ = 0)."""
        return smoothing_matrix(self.W.shape[1], self.smoothness, self.W.dtype)

    @property
    def W_smoothed(self):
        """``W S``: the factor the model multiplies with H (``W`` itself for θ = 0;
        ``W diag(scale)`` for ``normalize="both"``, which nsNMF does not take)."""
        return self.W_scaled if self.smoothness == 0 else self.W @ self.S

    def reconstruct(self):
        """The model ``W S H`` (``W H`` for θ = 0, ``W diag(scale) H`` for
        ``normalize="both"``) as a dense array."""
        return self.W_smoothed @ self.H


NMFResult.__module__ = "nmf_numba"  # its public home (reprs, documentation, pickles)


@dataclass
class IterationInfo:
    """Passed to ``callback`` after each objective check.  ``W`` and ``H`` are copies."""

    iteration: int
    elapsed: float
    objective: float
    W: np.ndarray
    H: np.ndarray


IterationInfo.__module__ = "nmf_numba"


class _NoProgress(contextlib.nullcontext):
    def __enter__(self):
        return self

    def update(self, n):
        pass

    def set_postfix(self, *args, **kwargs):
        pass


def progress_bar(verbose, max_iter, label):
    """A tqdm bar showing the iteration and the objective, or a stand-in that does nothing."""
    if not verbose:
        return _NoProgress()
    from tqdm.auto import tqdm

    return tqdm(total=max_iter, desc=f"nmf[{label}]", unit="it")


def check_finite(f, n_iter, engine):
    """The objective, or a FloatingPointError that says what to do (never a silent NaN/inf)."""
    if np.isfinite(f):
        return f
    raise FloatingPointError(
        f"The objective became {f} at iteration {n_iter}: the magnitude of X (max "
        f"{engine.max_abs:g}) overflows {engine.dtype} arithmetic in the products W H. Rescale "
        "X (e.g. X / X.max()) or use float64."
    )


class Stopping:
    """The stopping rules of one run (see ``stop`` in :func:`nmf_numba.nmf`).

    "objective": decrease of the objective over ``TOL_WINDOW`` iterations relative to the
    start's; "relative": the same decrease relative to the current objective; "pgrad":
    relative projected-gradient norm; "sklearn": scikit-learn's rules (its ``cd``'s violation
    when the solver reports one, else its MU rule on ``sqrt(2 · data term)``).  Then the
    callback, then the time limit."""

    def __init__(self, stop, tol, beta, time_limit, callback, t_start):
        self.stop, self.tol = stop, tol
        self.code = STOP_CODES[stop]
        self.every = 1 if beta == 2 else TOL_WINDOW
        self.time_limit, self.callback, self.t_start = time_limit, callback, t_start

    def elapsed(self):
        return time.perf_counter() - self.t_start

    def out_of_time(self):
        return self.time_limit is not None and self.elapsed() >= self.time_limit

    def start(self, f, data_term, pgrad):
        """Take the objective at the start; True when there is nothing to improve."""
        self.state = tol_state(f, data_term)
        return f == 0.0 or (pgrad is not None and pgrad == 0.0)

    def violation(self, w_step, h_step):
        """scikit-learn's violation of this iteration, when its rule applies (else None)."""
        if self.stop != "sklearn" or w_step.violation is None:
            return None
        return w_step.violation + h_step.violation

    def due(self, n_iter, max_iter, out_of_time, violation):
        """Whether the objective is evaluated after this iteration."""
        return (n_iter % self.every == 0 or n_iter >= max_iter or out_of_time
                or (violation is not None and self.tol > 0))

    def check(self, n_iter, f, data_term, out_of_time, violation, pgrad, info):
        """The reason to stop after an objective check (None: go on).  ``pgrad``: the relative
        projected gradient (stop="pgrad"); ``info()``: the callback's IterationInfo."""
        converged = tol_reached(self.code, float(self.tol), n_iter, float(f),
                                float(data_term), np.nan if violation is None else violation,
                                np.nan if pgrad is None else pgrad, self.state)
        return self.after_check(converged, out_of_time, info)

    def after_check(self, converged, out_of_time, info):
        """The reason to stop after a check whose ``tol`` verdict is ``converged``: the
        callback first, then the tolerance, then the time limit (None: go on)."""
        if self.callback is not None and self.callback(info()):
            return "callback"
        if converged:
            return "tol"
        if out_of_time:
            return "time_limit"
        return None


def _record(history, progress, n_iter, elapsed, f):
    history["iteration"].append(n_iter)
    history["time"].append(elapsed)
    history["objective"].append(f)
    progress.set_postfix(objective=f"{f:.6g}", refresh=False)


def _record_many(history, progress, iterations, times, objectives):
    """:func:`_record` for several checks at once (arrays)."""
    history["iteration"].extend(iterations.tolist())
    history["time"].extend(times.tolist())
    history["objective"].extend(objectives.tolist())
    progress.set_postfix(objective=f"{objectives[-1]:.6g}", refresh=False)


class Outcome(NamedTuple):
    """How a run ended: its iterations, the rule that stopped it, the objective checks, and
    the data term and objective evaluated exactly at the final factors."""

    n_iter: int
    stop_reason: str
    history: dict
    data_loss: float
    loss: float


def run(engine, rule, max_iter, progress):
    """Iterate ``engine`` until a rule stops it; returns the :class:`Outcome`."""
    data_init, f_init = engine.terms(None, ahead=True)
    f_init = check_finite(f_init, 0, engine)
    history = {"iteration": [], "time": [], "objective": []}
    _record(history, progress, 0, rule.elapsed(), f_init)
    pgrad_init = None
    if rule.stop == "pgrad":
        pgrad_init = np.sqrt(engine.pgrad_sq())
        history["pgrad"] = [1.0]
    n_iter, reason = 0, None
    if rule.start(f_init, data_init, pgrad_init):
        reason = "tol"  # nothing to improve
    while reason is None and n_iter < max_iter:
        w_step, h_step = engine.iteration()
        n_iter += 1
        progress.update(1)
        out_of_time = rule.out_of_time()
        violation = rule.violation(w_step, h_step)
        if not rule.due(n_iter, max_iter, out_of_time, violation):
            continue
        data_term, f = engine.terms(h_step, ahead=n_iter < max_iter and not out_of_time)
        f = check_finite(f, n_iter, engine)
        elapsed = rule.elapsed()
        _record(history, progress, n_iter, elapsed, f)
        pgrad = None
        if rule.stop == "pgrad":
            pgrad = np.sqrt(w_step.pgrad_sq + h_step.pgrad_sq) / pgrad_init
            history["pgrad"].append(pgrad)
        reason = rule.check(n_iter, f, data_term, out_of_time, violation, pgrad,
                            lambda: IterationInfo(n_iter, elapsed, f, *engine.factors()))
    data_loss, loss = engine.terms(None, ahead=False)
    data_loss = check_finite(data_loss, n_iter, engine)
    return Outcome(n_iter, reason or "max_iter", history, data_loss, loss)


def warn_if_max_iter(stop_reason, max_iter, tol, stop, stacklevel=3):
    """scikit-learn's ConvergenceWarning when a run with a tolerance ended on max_iter
    (``stacklevel`` 3: the caller of the function that calls this one)."""
    if stop_reason == "max_iter" and tol > 0:
        warnings.warn(
            f"Maximum number of iterations {max_iter} reached before the "
            + ("relative projected gradient" if stop == "pgrad" else "objective's relative decrease")
            + f" fell below tol={tol:g}. Increase max_iter or tol to silence this.",
            convergence_warning(),
            stacklevel=stacklevel,
        )


def build_result(W, Ht, outcome, beta, solver, smoothness=0.0, run_losses=None, best_run=0,
                 accelerated=False, fixed_H=None, fixed_W=None, normalize=None):
    """The NMFResult of a finished run (``Ht`` is Hᵀ; ``W`` NumPy or Dask); ``fixed_H`` and
    ``fixed_W``: boolean arrays over the components, or None for none fixed; the factors
    normalised and ordered by :func:`normalize_factors` when ``normalize`` is given (never
    with fixed components: :func:`nmf_numba.nmf` refuses the pair)."""
    k = Ht.shape[1]
    H, scale = np.ascontiguousarray(Ht.T), None
    if normalize is not None:
        W, H, scale = normalize_factors(W, H, normalize)
    return NMFResult(
        W=W,
        H=H,
        n_iter=outcome.n_iter,
        converged=outcome.stop_reason == "tol",
        stop_reason=outcome.stop_reason,
        loss=outcome.loss,
        data_loss=outcome.data_loss,
        reconstruction_err=float(np.sqrt(2.0 * max(outcome.data_loss, 0.0))),
        history={key: np.asarray(val) for key, val in outcome.history.items()},
        beta=beta,
        solver=solver,
        smoothness=smoothness,
        run_losses=np.asarray([outcome.loss] if run_losses is None else run_losses),
        best_run=best_run,
        accelerated=bool(accelerated),
        fixed_H=np.zeros(k, dtype=bool) if fixed_H is None else fixed_H.copy(),
        fixed_W=np.zeros(k, dtype=bool) if fixed_W is None else fixed_W.copy(),
        normalize=normalize,
        scale=scale,
    )
