"""Cyclic coordinate descent with one-variable Newton steps for the Kullback-Leibler loss
(Hsieh & Dhillon, "Fast coordinate descent methods with variable selection for non-negative
matrix factorization", KDD 2011).

Each half-step updates the entries of ``A`` one at a time, row by row (rows in parallel: they
do not interact), with up to ``MAX_NEWTON`` projected Newton steps per entry.  The model
``A Bᵀ`` is formed once per half-step — densely for dense X, only at the stored entries for
CSR — and then shifted after every coordinate change, so one sweep over the k columns costs
O(stored entries) per column instead of O(stored entries · k).  A step that would increase the
objective is halved (see :mod:`nmf_numba.kernels._newton`), so the objective never increases.
"""

import functools

from ..losses import EPSILON
from ._common import NO_PENALTY, HalfStep, Solver

# Newton steps per coordinate and sweep.  One step already solves most of each coordinate's
# subproblem; more steps per visit trade sweeps for passes over the row (see the README's
# benchmark table for the measured choice).
MAX_NEWTON = 2


def update(op, A, B, penalty=NO_PENALTY, pgrad=False, max_newton=MAX_NEWTON):
    """One coordinate-Newton KL sweep on ``A`` (in place) for ``X_op ≈ A Bᵀ``.

    The projected gradient (when asked for) is each coordinate's, as its update found it.
    Fixed columns (``penalty.free``) are not visited; their values stay in the model that the
    other coordinates' derivatives read, so each visited coordinate's Newton step is the one
    of the full objective.
    """
    l1, l2 = float(penalty.l1), float(penalty.l2)
    pgrad_sq = op.kl_newton_sweep(A, B, l1, l2, max_newton, EPSILON, penalty.free)
    return HalfStep(None, pgrad_sq if pgrad else None)


def _kl_only(beta):
    return beta == 1


def _new_step(options):
    return functools.partial(update, pgrad=options.pgrad)


SOLVER = Solver(
    name="newton-cd",
    summary=("cyclic coordinate descent with one-variable Newton steps (Hsieh & Dhillon, KDD "
             "2011)"),
    new_step=_new_step,
    supports_beta=_kl_only,
    beta_words="only beta_loss='kullback-leibler' (beta=1)",
    observed_beta=_kl_only,
    mu_first=True,
)
