"""A toy solver, written as a contributor would add one: this module and one call of
:func:`nmf_numba.solvers.register` (or one line in the registry's ``_MODULES``) are all it takes.

Plain projected gradient with a fixed step ``1/L`` per half-step, ``L`` the Lipschitz constant
of the subproblem's gradient (the largest eigenvalue of ``BᵀB + l2·I``): the objective never
increases.  β = 2 on complete data only, which its record says.
"""

import numpy as np

from nmf_numba.solvers import HalfStep, Solver


def _new_step(options):
    def step(op, A, B, penalty):
        system = op.normal_equations(B)
        XB, G = penalty.least_squares(*system.products)
        lipschitz = float(np.linalg.eigvalsh(G.astype(np.float64))[-1])
        if lipschitz > 0:
            A -= (np.dot(A, G) - XB) / A.dtype.type(lipschitz)
            np.maximum(A, 0, out=A)
        return HalfStep(system.products)

    return step


SOLVER = Solver(
    name="toy-pg",
    summary="projected gradient with the fixed step 1/L (a test's toy), β = 2",
    new_step=_new_step,
    supports_beta=lambda beta: beta == 2,
    beta_words="only beta_loss='frobenius' (beta=2)",
)
