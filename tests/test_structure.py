"""The package's structure: no import cycles, one registry that every layer reads, a solver
added from outside the package runs through nmf, the estimator and the command line."""

import ast
import json
import pathlib

import numpy as np
import pytest

import nmf_numba as nn
from nmf_numba import solvers

from . import toy_solver
from .conftest import make_data

PACKAGE = pathlib.Path(nn.__file__).parent
README = PACKAGE.parent / "README.md"


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _import_graph():
    """module → the package modules it imports (at the top or inside functions)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                # `from . import x` imports the module x when there is one
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            else:
                continue
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def test_no_import_cycles():
    graph = _import_graph()
    assert "nmf_numba.solvers" in graph and "nmf_numba._loop" in graph
    state, cycle = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycle.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycle, f"import cycles: {cycle}"


def test_the_import_graph_sees_real_edges():
    """The cycle test can fail: the graph it reads has the package's real imports."""
    graph = _import_graph()
    assert "nmf_numba._loop" in graph["nmf_numba.nmf"]
    assert "nmf_numba._loop" in graph["nmf_numba.distributed"]
    assert "nmf_numba.solvers._common" in graph["nmf_numba.solvers.mu"]
    assert "nmf_numba.solvers" in graph["nmf_numba.cli"]  # an import inside a function


def test_kernels_import_only_numpy_numba_and_the_options():
    for path in (PACKAGE / "kernels").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.module in ("_numba", "_newton", "_scalar"), (path.name, node.module)


def test_readme_solver_table_is_the_registry():
    assert solvers.table() in README.read_text(), (
        "README's solver table differs from the registry: paste solvers.table() into it")


def test_registry_names_and_auto():
    assert solvers.names()[0] == "auto"
    assert set(solvers.names(with_auto=False)) == set(solvers.SOLVERS)
    for beta in (2.0, 1.0, 0.5):
        for sparse in (False, True):
            for observed in (False, True):
                name = solvers.auto_solver(beta, sparse=sparse, observed=observed)
                solvers.check(name, beta, sparse=sparse, observed=observed)  # never rejected
    with pytest.raises(ValueError, match=r"Invalid solver 'als'"):
        solvers.get("als")


@pytest.fixture
def toy():
    record = solvers.register(toy_solver.SOLVER)
    try:
        yield record
    finally:
        del solvers.SOLVERS[record.name]


def test_toy_solver_runs_through_nmf(toy, fmt):
    X = make_data(24, 15, fmt=fmt, positive=True)
    res = nn.nmf(X, 3, solver="toy-pg", init="random", random_state=0, max_iter=40, tol=0)
    assert res.solver == "toy-pg" and res.n_iter == 40
    assert np.all(np.diff(res.history["objective"]) <= 1e-12 * res.history["objective"][0])
    assert res.loss < 0.8 * res.history["objective"][0]
    # what its record does not support is refused by the registry's own check
    with pytest.raises(ValueError, match="solver='toy-pg' supports only"):
        nn.nmf(X, 3, solver="toy-pg", beta_loss=1)
    with pytest.raises(ValueError, match="solver='toy-pg' does not support missing values"):
        nn.nmf(make_data(10, 8), 2, solver="toy-pg", mask=np.ones((10, 8), bool))
    assert "toy-pg" in solvers.table()


def test_toy_solver_runs_through_the_estimator(toy):
    X = make_data(24, 15, positive=True)
    est = nn.NMF(3, solver="toy-pg", init="random", random_state=0, max_iter=30).fit(X)
    assert est.result_.solver == "toy-pg"
    assert est.components_.shape == (3, 15)


def test_toy_solver_runs_through_the_cli(toy, tmp_path):
    from nmf_numba import cli

    path = tmp_path / "x.npy"
    np.save(path, make_data(24, 15, positive=True))
    out = tmp_path / "f.npz"
    assert cli.main(["fit", str(path), "-k", "3", "--solver", "toy-pg", "--max-iter", "20",
                     "--seed", "0", "--out", str(out), "-q"]) == 0
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["parameters"]["solver"] == "toy-pg"


def test_solver_records_pickle():
    """The Dask path sends a solver's record to the workers with each task."""
    import pickle

    for record in solvers.SOLVERS.values():
        assert pickle.loads(pickle.dumps(record)) == record, record.name


def test_register_rejects_an_incomplete_dask_solver():
    import dataclasses

    broken = dataclasses.replace(toy_solver.SOLVER, dask_betas=lambda beta: beta == 2)
    with pytest.raises(TypeError, match="needs from_products"):
        solvers.register(broken)
    assert "toy-pg" not in solvers.SOLVERS
