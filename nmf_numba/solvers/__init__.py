"""Solvers.  Each module exposes one half-step ``update(op, A, B, ...)`` that improves the tall
factor ``A`` in ``X_op ≈ A Bᵀ`` with ``B`` fixed; the orchestration calls it once for W (with the
operator of X) and once for H (with the operator of Xᵀ, ``A = Hᵀ``, ``B = W``).

``update`` returns ``(XB, G)`` — the products ``X_op B`` and ``BᵀB`` it used — when the step is a
least-squares step, so the Frobenius objective after the step costs only O(rows·k²); otherwise
``None``.
"""

import functools

from . import anls, cd, hals, mu, pgd

# Which β each solver accepts: a predicate and the words of the error message.
SUPPORTED_BETA = {
    "mu": (lambda beta: True, "every beta_loss"),
    "cd": (lambda beta: beta == 2, "only beta_loss='frobenius' (beta=2)"),
    "hals": (lambda beta: beta == 2, "only beta_loss='frobenius' (beta=2)"),
    "anls": (lambda beta: beta == 2, "only beta_loss='frobenius' (beta=2)"),
    "pgd": (lambda beta: beta == 2, "only beta_loss='frobenius' (beta=2)"),
}


def make_step(solver, beta):
    """The half-step ``step(op, A, B)`` of a validated solver name and β."""
    if solver == "mu":
        return functools.partial(mu.update, beta=beta)
    if solver == "pgd":
        return pgd.PGD().update  # keeps a step size and a tolerance per factor
    return {"cd": cd.update, "hals": hals.update, "anls": anls.update}[solver]
