"""Drop-in scikit-learn estimators: :class:`NMF`, :class:`MiniBatchNMF` and
:func:`non_negative_factorization`.

``from nmf_numba import NMF, MiniBatchNMF, non_negative_factorization`` replaces scikit-learn's
import line: the same parameters with the same defaults and validation, the same fitted
attributes, warnings and error messages (scikit-learn's own ``test_nmf.py`` runs against these
classes in ``tests/test_estimators.py``).  They are thin layers over the functional core:

* ``NMF.fit`` is one call of :func:`nmf_numba.nmf` from scikit-learn's initialisation, with
  ``stop="sklearn"`` (scikit-learn's stopping rules, so its iteration counts are reproduced);
* ``transform`` is :func:`nmf_numba.transform` with the fit's solver family: exact
  non-negative least squares for the least-squares solvers ("cd", "hals", "anls", "pgd"),
  "newton-cd" for it, multiplicative updates for "mu" and MiniBatchNMF;
* MiniBatchNMF's online steps (Lefèvre, Bach & Févotte 2011, scikit-learn's algorithm) are the
  ``mu`` solver's ``update`` for the batch's W and ``online_update`` for H.

Differences from scikit-learn, on purpose:

* ``fit_transform`` returns ``transform(X)``'s W for the final components (the same
  computation), not the last iterate of W, which is only close to it: so
  ``fit(X).transform(X)`` equals ``fit_transform(X)`` (scikit-learn's issue #18663, which fails
  two of its own estimator checks), and the objective can only be lower than scikit-learn's
  from the same iterations.
* Arrays passed as ``W`` and ``H`` are never modified (scikit-learn's ``cd`` solver updates a
  C-contiguous ``W`` in place and MiniBatchNMF a custom ``H``).
* ``NMF`` also takes what :func:`nmf_numba.nmf` takes: the solvers "hals", "anls", "pgd",
  "newton-cd" and "auto"; ``graph_reg``, ``smoothness``, ``missing``, ``n_init``,
  ``time_limit`` and ``callback`` as parameters; NaN entries of X as missing values; and
  ``mask=`` and ``graph=`` as arguments of ``fit``/``fit_transform`` (they are per-sample data,
  like scikit-learn's ``sample_weight``, not settings).
* With ``smoothness=θ`` (nsNMF, model ``W S H``) ``components_`` is ``S H``, so that
  ``inverse_transform(W) = W @ components_`` is the model and ``transform`` needs no θ.
"""

import itertools
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.decomposition import MiniBatchNMF as _SkMiniBatchNMF
from sklearn.decomposition import NMF as _SkNMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted, check_non_negative, validate_data

from . import _validation
from ._data import Data
from .init import initialize
from .losses import divergence
from .metrics import reconstruction_error
from .nmf import _transform_w, nmf
from .solvers import mu
from .solvers._common import Penalty

__all__ = ["NMF", "MiniBatchNMF", "non_negative_factorization"]

# scikit-learn's constraints for the parameters the two estimators share, then each one's own
_COMMON_CONSTRAINTS = {
    key: value
    for key, value in _SkNMF._parameter_constraints.items()
    if key not in ("solver", "shuffle")
}
_NMF_EXTRA_CONSTRAINTS = {
    "solver": [StrOptions({"cd", "mu", "hals", "anls", "pgd", "newton-cd", "auto"})],
    "shuffle": ["boolean"],
    "graph_reg": [Interval(Real, 0, None, closed="left")],
    "smoothness": [Interval(Real, 0, 1, closed="left")],
    "missing": [StrOptions({"zero", "unobserved"})],
    "n_init": [Interval(Integral, 1, None, closed="left")],
    "time_limit": [Interval(Real, 0, None, closed="neither"), None],
    "callback": [callable, None],
}
_MINIBATCH_CONSTRAINTS = {
    key: value
    for key, value in _SkMiniBatchNMF._parameter_constraints.items()
    if key not in _COMMON_CONSTRAINTS
}
_LEAST_SQUARES = ("cd", "hals", "anls", "pgd")
_BETA_LE_0 = (
    "When beta_loss <= 0 and X contains zeros, the solver may diverge. Please add small values "
    "to X, or use a positive beta_loss."
)
_MAX_ITER_REACHED = "Maximum number of iterations {} reached. Increase it to improve convergence."
_EPS64 = np.finfo(np.float64).eps


def _check_init(A, shape, whom):
    """scikit-learn's checks (and messages) for a user-given W or H."""
    A = check_array(A)
    if shape[0] != "auto" and A.shape[0] != shape[0]:
        raise ValueError(
            f"Array with wrong first dimension passed to {whom}. Expected {shape[0]}, "
            f"but got {A.shape[0]}."
        )
    if shape[1] != "auto" and A.shape[1] != shape[1]:
        raise ValueError(
            f"Array with wrong second dimension passed to {whom}. Expected {shape[1]}, "
            f"but got {A.shape[1]}."
        )
    check_non_negative(A, whom)
    if np.max(A) == 0:
        raise ValueError(f"Array passed to {whom} is full of zeros.")


def _as_csr(X):
    """The csr/csc/dense X that ``validate_data`` returns, as the kernels take it: canonical
    CSR (sorted indices, no duplicates) or a C-contiguous array; copies only when needed.
    NaN (missing values) is left for :func:`nmf_numba.nmf` to handle."""
    if sp.issparse(X):
        return _validation.check_data(X)
    return np.ascontiguousarray(X)


def _reconstruction_err(X, W, H, beta, mask=None, missing="zero"):
    """scikit-learn's ``reconstruction_err_``, ``sqrt(2 · D_β(X | W H))``, over the observed
    entries when some are missing (NaN, ``mask``, or ``missing="unobserved"``)."""
    if missing == "unobserved" and mask is None:
        mask = X  # the stored entries of sparse X are the observed ones
    return reconstruction_error(X, W, H, beta, mask=mask)


class _BaseNMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """What NMF and MiniBatchNMF share: scikit-learn's parameters and checks."""

    _parameter_constraints: dict = dict(_COMMON_CONSTRAINTS)

    def __init__(
        self,
        n_components="auto",
        *,
        init=None,
        beta_loss="frobenius",
        tol=1e-4,
        max_iter=200,
        random_state=None,
        alpha_W=0.0,
        alpha_H="same",
        l1_ratio=0.0,
        verbose=0,
    ):
        self.n_components = n_components
        self.init = init
        self.beta_loss = beta_loss
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.verbose = verbose

    def _check_params(self, X):
        self._n_components = X.shape[1] if self.n_components is None else self.n_components
        self._beta_loss = _validation.check_beta_loss(self.beta_loss)

    def _check_beta_le_0(self, X):
        if self._beta_loss <= 0 and X.min() == 0:  # a sparse X's implicit zeros count
            raise ValueError(_BETA_LE_0)

    def _check_w_h(self, X, W, H, update_H):
        """Check a custom W and H; for a generated init return ``(None, None)`` (``_init``
        says which).  Resolves ``n_components="auto"``.  Never returns the caller's arrays."""
        n_samples, n_features = X.shape
        if self.init == "custom" and update_H:
            _check_init(H, (self._n_components, n_features), f"{self._whom} (input H)")
            _check_init(W, (n_samples, self._n_components), f"{self._whom} (input W)")
            if self._n_components == "auto":
                self._n_components = H.shape[0]
            if H.dtype != X.dtype or W.dtype != X.dtype:
                raise TypeError(
                    "H and W should have the same dtype as X. Got "
                    f"H.dtype = {H.dtype} and W.dtype = {W.dtype}."
                )
            return np.array(W, order="C"), np.array(H, order="C")
        if not update_H:
            if W is not None:
                warnings.warn(
                    "When update_H=False, the provided initial W is not used.", RuntimeWarning
                )
            _check_init(H, (self._n_components, n_features), f"{self._whom} (input H)")
            if self._n_components == "auto":
                self._n_components = H.shape[0]
            if H.dtype != X.dtype:
                raise TypeError(
                    f"H should have the same dtype as X. Got H.dtype = {H.dtype}."
                )
            return None, np.array(H, order="C")
        if W is not None or H is not None:
            warnings.warn(
                "When init!='custom', provided W or H are ignored. Set "
                " init='custom' to use them as initialization.",
                RuntimeWarning,
            )
        if self._n_components == "auto":
            self._n_components = n_features
        if self.init in ("nndsvd", "nndsvda", "nndsvdar") and self._n_components > min(X.shape):
            raise ValueError(
                f"init = '{self.init}' can only be used when "
                "n_components <= min(n_samples, n_features)"
            )
        return None, None

    @property
    def _init(self):
        """The init of :func:`nmf_numba.nmf` that is scikit-learn's (None: its default)."""
        return "auto" if self.init is None else self.init

    def _compute_regularization(self, X):
        """scikit-learn's scaled penalties ``(l1_W, l1_H, l2_W, l2_H)``."""
        n_samples, n_features = X.shape
        alpha_H = self.alpha_W if self.alpha_H == "same" else self.alpha_H
        return (
            n_features * self.alpha_W * self.l1_ratio,
            n_samples * alpha_H * self.l1_ratio,
            n_features * self.alpha_W * (1.0 - self.l1_ratio),
            n_samples * alpha_H * (1.0 - self.l1_ratio),
        )

    def _solve_w(self, X, H, max_iter, mask=None, missing="zero"):
        """``(W, updates)``: W ≥ 0 for X with the components H fixed (:func:`nmf_numba.transform`
        with ``_w_solver``; MU stops on scikit-learn's MiniBatchNMF rule, W's relative change)."""
        solver = self._w_solver
        return _transform_w(
            X, H, beta_loss=self._beta_loss, solver=solver, alpha_W=self.alpha_W,
            l1_ratio=self.l1_ratio, max_iter=max_iter, tol=self.tol, mask=mask, missing=missing,
            rule="w_change" if solver == "mu" else "objective",
        )

    def _warn_max_iter(self, n_iter):
        if n_iter == self.max_iter and self.tol > 0:
            warnings.warn(_MAX_ITER_REACHED.format(self.max_iter), ConvergenceWarning)

    def fit(self, X, y=None, **params):
        """Learn an NMF model for the data X (``params`` go to ``fit_transform``)."""
        self.fit_transform(X, **params)
        return self

    def inverse_transform(self, X):
        """The data ``X @ components_`` that the representation X stands for."""
        check_is_fitted(self)
        return X @ self.components_

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class NMF(_BaseNMF):
    """Non-negative matrix factorisation, scikit-learn's ``NMF`` on nmf_numba's solvers.

    Same parameters, defaults, attributes and behaviour as
    ``sklearn.decomposition.NMF`` (see its documentation), plus everything
    :func:`nmf_numba.nmf` offers; see the module docstring for the differences.

    Parameters beyond scikit-learn's
    ---------------------------------
    solver : {"cd", "mu", "hals", "anls", "pgd", "newton-cd", "auto"}, default="cd"
    graph_reg, smoothness, missing, n_init, time_limit, callback
        As in :func:`nmf_numba.nmf` (the graph itself is ``fit(X, graph=...)``).

    Attributes
    ----------
    components_, n_components_, reconstruction_err_, n_iter_, n_features_in_,
    feature_names_in_
        As in scikit-learn.
    result_ : NMFResult
        The full result of the fit (objective history, every restart's loss, ...).
    """

    _whom = "NMF"

    @property
    def _w_solver(self):
        """The solver for W with H fixed (transform, and the W that fit_transform returns): the
        fit's family — exact NNLS after a least-squares fit (``transform``'s "auto": "anls", or
        "cd" with missing values), "newton-cd" after it, MU after an MU fit (which keeps the
        result continuous in β and equal to MiniBatchNMF's, as scikit-learn's tests require)."""
        if self.solver in _LEAST_SQUARES:
            return "auto"
        if self.solver == "auto":
            return "auto" if self._beta_loss in (1, 2) else "mu"
        return self.solver
    _parameter_constraints: dict = {**_COMMON_CONSTRAINTS, **_NMF_EXTRA_CONSTRAINTS}

    def __init__(
        self,
        n_components="auto",
        *,
        init=None,
        solver="cd",
        beta_loss="frobenius",
        tol=1e-4,
        max_iter=200,
        random_state=None,
        alpha_W=0.0,
        alpha_H="same",
        l1_ratio=0.0,
        verbose=0,
        shuffle=False,
        graph_reg=0.0,
        smoothness=0.0,
        missing="zero",
        n_init=1,
        time_limit=None,
        callback=None,
    ):
        super().__init__(
            n_components=n_components,
            init=init,
            beta_loss=beta_loss,
            tol=tol,
            max_iter=max_iter,
            random_state=random_state,
            alpha_W=alpha_W,
            alpha_H=alpha_H,
            l1_ratio=l1_ratio,
            verbose=verbose,
        )
        self.solver = solver
        self.shuffle = shuffle
        self.graph_reg = graph_reg
        self.smoothness = smoothness
        self.missing = missing
        self.n_init = n_init
        self.time_limit = time_limit
        self.callback = callback

    def _check_params(self, X):
        super()._check_params(X)
        if self.solver in _LEAST_SQUARES and self._beta_loss != 2:
            raise ValueError(
                f"Invalid beta_loss parameter: solver {self.solver!r} does not handle "
                f"beta_loss = {self.beta_loss!r}"
            )
        if self.solver == "newton-cd" and self._beta_loss != 1:
            raise ValueError(
                f"Invalid beta_loss parameter: solver {self.solver!r} handles only "
                f"beta_loss = 'kullback-leibler', got {self.beta_loss!r}"
            )
        if self.solver == "mu" and self.init == "nndsvd":
            warnings.warn(
                "The multiplicative update ('mu') solver cannot update zeros present in the "
                "initialization, and so leads to poorer results when used jointly with "
                "init='nndsvd'. You may try init='nndsvda' or init='nndsvdar' instead.",
                UserWarning,
            )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, W=None, H=None, *, mask=None, graph=None):
        """Learn an NMF model for the data X and return the transformed data W.

        ``W`` and ``H`` are the start for ``init="custom"``.  NaN entries of X are missing
        values; ``mask`` (True = observed) and ``graph`` (a samples × samples affinity for
        ``graph_reg``) are passed to :func:`nmf_numba.nmf`.
        """
        X = validate_data(
            self, X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan",
        )
        W, H, n_iter = self._fit_transform(X, W=W, H=H, mask=mask, graph=graph)
        self.n_components_ = H.shape[0]
        self.components_ = H
        self.n_iter_ = n_iter
        return W

    def _fit_transform(self, X, y=None, W=None, H=None, update_H=True, mask=None, graph=None):
        """``(W, H, n_iter)``: a fit (``update_H``) or W for the fixed H."""
        X = _as_csr(X)
        check_non_negative(X, "NMF (input X)")
        self._check_params(X)
        self._check_beta_le_0(X)
        W, H = self._check_w_h(X, W, H, update_H)
        if not update_H:
            W, n_iter = self._solve_w(X, H, self.max_iter, mask)
            return W, H, n_iter
        with warnings.catch_warnings():  # nmf()'s own message is replaced by scikit-learn's
            warnings.filterwarnings("ignore", category=ConvergenceWarning)
            res = nmf(
                X, self._n_components,
                init=self._init if W is None else (W, H),
                solver=self.solver, beta_loss=self._beta_loss, max_iter=self.max_iter,
                tol=self.tol, stop="sklearn", alpha_W=self.alpha_W, alpha_H=self.alpha_H,
                l1_ratio=self.l1_ratio, graph=graph, graph_reg=self.graph_reg,
                smoothness=self.smoothness, n_init=self.n_init, mask=mask,
                missing=self.missing, time_limit=self.time_limit, callback=self.callback,
                random_state=self.random_state, shuffle=self.shuffle and self.solver == "cd",
                verbose=bool(self.verbose),
            )
        self._warn_max_iter(res.n_iter)
        self.result_ = res
        H = res.H if res.S is None else np.ascontiguousarray(res.S @ res.H)
        W = res.W
        if graph is None or self.graph_reg == 0:
            # transform(X)'s W for the final H, which the last W-update only approximates
            # (scikit-learn's #18663)
            W, _ = self._solve_w(X, H, self.max_iter, mask, self.missing)
        self.reconstruction_err_ = _reconstruction_err(X, W, H, self._beta_loss, mask, self.missing)
        return W, H, res.n_iter

    def transform(self, X, *, mask=None):
        """W ≥ 0 for X with the fitted components fixed (NaN entries or ``mask``: missing)."""
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32],
            reset=False, ensure_non_negative=True, ensure_all_finite="allow-nan",
        )
        W, *_ = self._fit_transform(X, H=self.components_, update_H=False, mask=mask)
        return W

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN entries are missing values
        return tags


class MiniBatchNMF(_BaseNMF):
    """Mini-batch NMF, scikit-learn's ``MiniBatchNMF`` on nmf_numba's kernels.

    The online multiplicative updates of Lefèvre, Bach & Févotte (2011), with scikit-learn's
    parameters, defaults, attributes and stopping rules (see its documentation), dense or
    sparse X.  The per-batch W-solves (``fresh_restarts``, ``partial_fit``) are scikit-learn's
    (MU steps until W stops changing); ``transform`` and the W that ``fit_transform`` returns
    are :func:`nmf_numba.transform` with MU for the final components.
    """

    _whom = "MiniBatchNMF"
    _w_solver = "mu"  # the algorithm's own (scikit-learn's _solve_W)
    _parameter_constraints: dict = {**_COMMON_CONSTRAINTS, **_MINIBATCH_CONSTRAINTS}

    def __init__(
        self,
        n_components="auto",
        *,
        init=None,
        batch_size=1024,
        beta_loss="frobenius",
        tol=1e-4,
        max_no_improvement=10,
        max_iter=200,
        alpha_W=0.0,
        alpha_H="same",
        l1_ratio=0.0,
        forget_factor=0.7,
        fresh_restarts=False,
        fresh_restarts_max_iter=30,
        transform_max_iter=None,
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            n_components=n_components,
            init=init,
            beta_loss=beta_loss,
            tol=tol,
            max_iter=max_iter,
            random_state=random_state,
            alpha_W=alpha_W,
            alpha_H=alpha_H,
            l1_ratio=l1_ratio,
            verbose=verbose,
        )
        self.max_no_improvement = max_no_improvement
        self.batch_size = batch_size
        self.forget_factor = forget_factor
        self.fresh_restarts = fresh_restarts
        self.fresh_restarts_max_iter = fresh_restarts_max_iter
        self.transform_max_iter = transform_max_iter

    def _check_params(self, X):
        super()._check_params(X)
        self._batch_size = min(self.batch_size, X.shape[0])
        self._rho = self.forget_factor ** (self._batch_size / X.shape[0])
        self._transform_max_iter = (
            self.max_iter if self.transform_max_iter is None else self.transform_max_iter
        )

    def _start(self, X, W, H, update_H):
        """Check or generate the start; set up the running sums of the H updates."""
        W, H = self._check_w_h(X, W, H, update_H)
        if H is None:
            W, H = initialize(X, self._n_components, self._init, self.random_state)
        # the H-step works on Hᵀ (n_features × k), as every solver's half-step does
        self._components_numerator_t = np.ascontiguousarray(H.T)
        self._components_denominator_t = np.ones_like(self._components_numerator_t)
        return W, H

    def _minibatch_step(self, X, W, H, update_H):
        """One online step on the batch X: W (its rows) by one MU step or a fresh solve, then
        H; returns scikit-learn's batch cost (objective per sample, before the H step)."""
        l1_W, l1_H, l2_W, l2_H = self._compute_regularization(X)
        data = Data(X)
        Ht = np.ascontiguousarray(H.T)
        if self.fresh_restarts or W is None:
            W, _ = self._solve_w(X, H, self.fresh_restarts_max_iter)
        else:
            mu.update(data.X_op, W, Ht, self._beta_loss, Penalty(l1_W, l2_W))
        batch_cost = (
            divergence(data.X_op, W, Ht, self._beta_loss)
            + l1_W * W.sum() + l1_H * H.sum() + l2_W * (W**2).sum() + l2_H * (H**2).sum()
        ) / X.shape[0]
        if update_H:
            mu.online_update(
                data.Xt_op, Ht, W, self._beta_loss, self._components_numerator_t,
                self._components_denominator_t, self._rho, Penalty(l1_H, l2_H),
            )
            H[:] = Ht.T
        return batch_cost

    def _minibatch_convergence(self, X, batch_cost, H, H_buffer, n_samples, step, n_steps):
        """scikit-learn's early stopping: small change of H, or no improvement of the
        exponentially weighted average of the batch costs for ``max_no_improvement`` steps."""
        batch_size = X.shape[0]
        step = step + 1  # counted from 1 in the messages
        if step == 1:  # H has not been updated yet
            if self.verbose:
                print(f"Minibatch step {step}/{n_steps}: mean batch cost: {batch_cost}")
            return False
        if self._ewa_cost is None:
            self._ewa_cost = batch_cost
        else:
            alpha = min(batch_size / (n_samples + 1), 1)
            self._ewa_cost = self._ewa_cost * (1 - alpha) + batch_cost * alpha
        if self.verbose:
            print(
                f"Minibatch step {step}/{n_steps}: mean batch cost: "
                f"{batch_cost}, ewa cost: {self._ewa_cost}"
            )
        H_diff = linalg.norm(H - H_buffer) / linalg.norm(H)
        if self.tol > 0 and H_diff <= self.tol:
            if self.verbose:
                print(f"Converged (small H change) at step {step}/{n_steps}")
            return True
        if self._ewa_cost_min is None or self._ewa_cost < self._ewa_cost_min:
            self._no_improvement = 0
            self._ewa_cost_min = self._ewa_cost
        else:
            self._no_improvement += 1
        if (
            self.max_no_improvement is not None
            and self._no_improvement >= self.max_no_improvement
        ):
            if self.verbose:
                print(
                    "Converged (lack of improvement in objective function) "
                    f"at step {step}/{n_steps}"
                )
            return True
        return False

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, W=None, H=None):
        """Learn an NMF model for the data X and return the transformed data W."""
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32])
        W, H, n_iter, n_steps = self._fit_transform(X, W=W, H=H)
        self.reconstruction_err_ = _reconstruction_err(_as_csr(X), W, H, self._beta_loss)
        self.n_components_ = H.shape[0]
        self.components_ = H
        self.n_iter_ = n_iter
        self.n_steps_ = n_steps
        return W

    def _fit_transform(self, X, W=None, H=None, update_H=True):
        X = _as_csr(X)
        check_non_negative(X, "MiniBatchNMF (input X)")
        self._check_params(X)
        self._check_beta_le_0(X)
        n_samples = X.shape[0]
        W, H = self._start(X, W, H, update_H)
        H_buffer = H.copy()
        self._ewa_cost = None
        self._ewa_cost_min = None
        self._no_improvement = 0

        batches = itertools.cycle(gen_batches(n_samples, self._batch_size))
        n_steps_per_iter = int(np.ceil(n_samples / self._batch_size))
        n_steps = self.max_iter * n_steps_per_iter
        for i, batch in zip(range(n_steps), batches):
            # W[batch] is a view: its MU step updates W's rows in place
            batch_cost = self._minibatch_step(X[batch], W[batch], H, update_H)
            if update_H and self._minibatch_convergence(
                X[batch], batch_cost, H, H_buffer, n_samples, i, n_steps
            ):
                break
            H_buffer[:] = H
        if update_H:  # transform(X)'s W for the final H (scikit-learn: with fresh_restarts)
            W, _ = self._solve_w(X, H, self._transform_max_iter)
        n_steps = i + 1
        n_iter = int(np.ceil(n_steps / n_steps_per_iter))
        self._warn_max_iter(n_iter)
        return W, H, n_iter, n_steps

    def transform(self, X):
        """W ≥ 0 for X with the fitted components fixed."""
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32], reset=False,
        )
        W, _ = self._solve_w(_as_csr(X), self.components_, self._transform_max_iter)
        return W

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, W=None, H=None):
        """Update the model with the mini-batch X (``W``, ``H``: the first call's custom start)."""
        has_components = hasattr(self, "components_")
        X = validate_data(
            self, X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32],
            reset=not has_components,
        )
        X = _as_csr(X)
        check_non_negative(X, "MiniBatchNMF (input X)")
        if not has_components:  # the first call
            self._check_params(X)
            self._check_beta_le_0(X)
            _, H = self._start(X, W, H, update_H=True)
            self.n_steps_ = 0
        else:
            H = self.components_
        self._minibatch_step(X, None, H, update_H=True)
        self.n_components_ = H.shape[0]
        self.components_ = H
        self.n_steps_ += 1
        return self


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "W": ["array-like", None],
        "H": ["array-like", None],
        "update_H": ["boolean"],
    },
    prefer_skip_nested_validation=False,
)
def non_negative_factorization(
    X,
    W=None,
    H=None,
    n_components="auto",
    *,
    init=None,
    update_H=True,
    solver="cd",
    beta_loss="frobenius",
    tol=1e-4,
    max_iter=200,
    alpha_W=0.0,
    alpha_H="same",
    l1_ratio=0.0,
    random_state=None,
    verbose=0,
    shuffle=False,
    **extra,
):
    """scikit-learn's ``non_negative_factorization``: ``(W, H, n_iter)``.

    The same arguments and behaviour (with ``update_H=False``, W for the fixed H); ``extra``
    takes :class:`NMF`'s further parameters (``graph_reg``, ``smoothness``, ``missing``,
    ``n_init``, ``time_limit``, ``callback``) and ``mask``/``graph``.
    """
    fit_args = {key: extra.pop(key) for key in ("mask", "graph") if key in extra}
    est = NMF(
        n_components=n_components, init=init, solver=solver, beta_loss=beta_loss, tol=tol,
        max_iter=max_iter, random_state=random_state, alpha_W=alpha_W, alpha_H=alpha_H,
        l1_ratio=l1_ratio, verbose=verbose, shuffle=shuffle, **extra,
    )
    est._validate_params()
    X = check_array(X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32],
                    ensure_all_finite="allow-nan")
    return est._fit_transform(X, W=W, H=H, update_H=update_H, **fit_args)
