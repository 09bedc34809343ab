"""The scikit-learn code that ``nmf_numba.estimators`` builds on: fail loudly when it changes.

``NMF`` and ``MiniBatchNMF`` subclass scikit-learn's classes, replace some of their private
methods and leave scikit-learn's other methods to call them (MiniBatchNMF's online loop calls
our ``_minibatch_step`` and ``_solve_W``).  Private methods can change in any release, so:

* each method we override must still exist on scikit-learn's class with the signature we
  override (its callers pass those arguments);
* each scikit-learn method we override or inherit must still have the code we read when
  writing ours: a fingerprint of its source (formatting, comments and docstring removed),
  identical in every scikit-learn release listed in ``CHECKED``;
* the methods our classes define over scikit-learn's are exactly the ones listed here, so a
  new override cannot skip this check.

A failure names the method, says what the estimators assume about it, and asks for that to
be re-checked before the new fingerprint is recorded.
"""

import ast
import copy
import hashlib
import inspect

import pytest

sklearn = pytest.importorskip("sklearn", reason="the estimators are built on scikit-learn")

import sklearn.decomposition._nmf as sk_nmf  # noqa: E402

import nmf_numba as nn  # noqa: E402

CHECKED = "scikit-learn 1.6.1, 1.7.2, 1.8.0 and 1.9.1"

# scikit-learn's methods our classes replace: their parameters (callers pass these) and their
# fingerprint; what ours must still match if scikit-learn's changed.
OVERRIDDEN = {
    "_BaseNMF._check_w_h": (
        "(self, X, W, H, update_H)", {"e5243a7ea004d054"},
        "ours calls it for a custom W/H and for transform's H, copies what it returns, and "
        "repeats its checks (the 'ignored' warning, n_components='auto', the nndsvd* size "
        "error) before drawing any other start with nmf_numba.init instead of _initialize_nmf",
    ),
    "NMF.__init__": (
        "(self, n_components='auto', *, init=None, solver='cd', beta_loss='frobenius', "
        "tol=0.0001, max_iter=200, random_state=None, alpha_W=0.0, alpha_H='same', "
        "l1_ratio=0.0, verbose=0, shuffle=False)", {"840d314359c6b768"},
        "ours passes scikit-learn's parameters on by name and adds nmf_numba's",
    ),
    "NMF._check_params": (
        "(self, X)", {"1e8b0d5e114fd41b"},
        "ours calls it except for solver='auto'/'newton-cd', whose β it would reject",
    ),
    "_BaseNMF.fit": (
        "(self, X, y=None, **params)", {"7e6fd38e06694db5"},
        "NMF's declares sample_weight (so that scikit-learn's checks see it) and, as this one, "
        "passes every argument on to fit_transform and returns self",
    ),
    "NMF.fit_transform": (
        "(self, X, y=None, W=None, H=None)", {"8478fd51cdbadcbe"},
        "ours validates as it does (allowing NaN) and sets the same attributes",
    ),
    "NMF._fit_transform": (
        "(self, X, y=None, W=None, H=None, update_H=True)", {"3aa926e3794ce4ad"},
        "ours makes its checks (negative X, β <= 0 with zeros, _check_params, _check_w_h) and "
        "its max_iter warning, and replaces its solver call by nmf_numba.nmf",
    ),
    "NMF.transform": (
        "(self, X)", {"456b4104a7831ded"},
        "ours validates as it does (allowing NaN) and calls _fit_transform(update_H=False)",
    ),
    "_BaseNMF.__sklearn_tags__": (
        "(self)", {"92f7baa6150c67a5"}, "NMF's adds allow_nan to its tags",
    ),
    "MiniBatchNMF._check_params": (
        "(self, X)", {"089f8a6360b38f72"}, "ours calls it, then makes _beta_loss a float",
    ),
    "MiniBatchNMF._solve_W": (
        "(self, X, H, max_iter)", {"51bacf4c96850d4a"},
        "ours runs the same MU steps and stopping rule with nmf_numba's kernels",
    ),
    "MiniBatchNMF._minibatch_step": (
        "(self, X, W, H, update_H)", {"10bdc40cc11778cc"},
        "ours makes the same W step (in place on the batch's rows of W), batch cost and online "
        "H step (with _components_numerator/_denominator in H's orientation, ρ = _rho)",
    ),
    "MiniBatchNMF.fit_transform": (
        "(self, X, y=None, W=None, H=None)", {"1b1f13713f36f313"},
        "ours validates as it does and sets the same attributes",
    ),
    "MiniBatchNMF._fit_transform": (
        "(self, X, W=None, H=None, update_H=True)", {"4849b0c98b5838e5"},
        "ours calls it (the online loop) and then solves for W unless fresh_restarts did",
    ),
}

# scikit-learn's methods our classes inherit or call through super(), and what we rely on.
INHERITED = {
    "_BaseNMF.__init__": ({"6fe5c93276829676"}, "stores the shared parameters"),
    "_BaseNMF._check_params": (
        {"021183ba44e9ab5e"}, "sets _n_components and _beta_loss (NMF calls it directly)"),
    "_BaseNMF._compute_regularization": (
        {"806223efaf4bdb72"}, "the scaled penalties our _minibatch_step uses"),
    "_BaseNMF.fit": ({"7e6fd38e06694db5"}, "calls fit_transform with the fit arguments"),
    "_BaseNMF.inverse_transform": (
        {"ac6beab704efd7e9", "2d1a1022ec513d2c"},  # 1.6.1 still took the deprecated Xt
        "X @ components_ (nsNMF's components_ are S H for this)"),
    "_BaseNMF._n_features_out": ({"08fc254d9f39135d"}, "the number of components"),
    "MiniBatchNMF.__init__": ({"94c662ef9cfef960"}, "MiniBatchNMF has no __init__ of its own"),
    "MiniBatchNMF._minibatch_convergence": (
        {"3103f28874a71f54"}, "scikit-learn's stopping rule on our batch costs"),
    "MiniBatchNMF._fit_transform": (
        {"4849b0c98b5838e5"},
        "the online loop: _check_w_h; _components_numerator = H.copy() and "
        "_components_denominator = ones; _minibatch_step(X[batch], W[batch], H, update_H); "
        "_minibatch_convergence; _solve_W at the end only with fresh_restarts"),
    "MiniBatchNMF.partial_fit": (
        {"31ba0e27e13389e9"},
        "first call: _check_params, _check_w_h and the running sums as in _fit_transform; "
        "every call: _minibatch_step(X, None, H, update_H=True) on components_"),
    "MiniBatchNMF.transform": (
        {"fc3ae6797ee9efa9"}, "_solve_W(X, components_, _transform_max_iter)"),
}


def _fingerprint(tree, qualname):
    """A hash of a method's code in a parsed module, without formatting, comments or docstring."""
    cls_name, name = qualname.split(".")
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls_name)
    fn = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == name)
    fn = copy.deepcopy(fn)
    first = fn.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):
        fn.body = fn.body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.unparse(fn).encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def sklearn_tree():
    return ast.parse(inspect.getsource(sk_nmf))


def _sk(qualname):
    cls_name, name = qualname.split(".")
    return getattr(sk_nmf, cls_name).__dict__[name]


def _changed(qualname, found, expected, role, assumption):
    return (
        f"scikit-learn {sklearn.__version__} changed {qualname} (fingerprint {found}; expected "
        f"one of {sorted(expected)}, the code of {CHECKED}). nmf_numba.estimators {role} it: "
        f"{assumption}. Re-read scikit-learn's new code, check that this still holds (and that "
        "tests/test_estimators.py passes), then record the new fingerprint in this file."
    )


@pytest.mark.parametrize("qualname", sorted(OVERRIDDEN))
def test_overridden_methods_keep_their_signature_and_code(qualname, sklearn_tree):
    signature, expected, assumption = OVERRIDDEN[qualname]
    cls_name, name = qualname.split(".")
    assert name in vars(getattr(sk_nmf, cls_name)), (
        f"scikit-learn {sklearn.__version__} has no {qualname} any more: nmf_numba's override "
        f"is no longer called. What it did: {assumption}.")
    found_signature = str(inspect.signature(_sk(qualname)))
    assert found_signature == signature, (
        f"scikit-learn {sklearn.__version__} changed the signature of {qualname} to "
        f"{found_signature} (was {signature} in {CHECKED}): its callers now pass other "
        f"arguments to nmf_numba's override. What the override assumes: {assumption}.")
    found = _fingerprint(sklearn_tree, qualname)
    assert found in expected, _changed(qualname, found, expected, "overrides", assumption)


@pytest.mark.parametrize("qualname", sorted(INHERITED))
def test_inherited_methods_keep_their_code(qualname, sklearn_tree):
    expected, assumption = INHERITED[qualname]
    found = _fingerprint(sklearn_tree, qualname)
    assert found in expected, _changed(qualname, found, expected, "inherits", assumption)


# the methods each class defines over scikit-learn's (each must be listed in OVERRIDDEN)
OURS = {
    nn.NMF: {"__init__", "_check_params", "_check_w_h", "fit", "fit_transform",
             "_fit_transform", "transform", "__sklearn_tags__"},
    nn.MiniBatchNMF: {"_check_params", "_check_w_h", "_solve_W", "_minibatch_step",
                      "fit_transform", "_fit_transform"},
}


@pytest.mark.parametrize("ours", list(OURS), ids=lambda cls: cls.__name__)
def test_overrides_are_the_listed_ones(ours):
    """Our classes replace exactly these methods; everything else is scikit-learn's."""
    theirs = getattr(sk_nmf, ours.__name__)
    assert issubclass(ours, theirs)
    defined = set()
    for cls in ours.__mro__[: ours.__mro__.index(theirs)]:
        defined |= {name for name, value in vars(cls).items()
                    if callable(value) or isinstance(value, property)}
    overridden = {name for name in defined if hasattr(theirs, name)}
    assert overridden == OURS[ours]
    for name in overridden:
        owner = next(cls for cls in theirs.__mro__ if name in vars(cls))
        assert f"{owner.__name__}.{name}" in OVERRIDDEN
    for qualname in INHERITED:
        cls_name, name = qualname.split(".")
        if getattr(sk_nmf, cls_name) in theirs.__mro__ and name not in overridden:
            assert inspect.getattr_static(ours, name) is inspect.getattr_static(theirs, name)
