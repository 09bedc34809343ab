"""``nmf-numba demo``: every comparison is printed and its numbers parse (speed is not tested)."""

import contextlib
import io
import re

import pytest

from nmf_numba import cli

NUMBER = r"[0-9]+(?:\.[0-9]*)?(?:e[+-]?[0-9]+)?"
RATIO = rf"(?:{NUMBER}× as fast(?: \(slower\))?|not reached)"


@pytest.fixture(scope="module")
def demo_output():
    """One small run: few iterations, problems and repeats (the figures are not checked)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli.main(["demo", "--repeat", "1", "--max-iter", "20", "--many", "6",
                       "--n-components", "6", "--blas-threads", "1"])
    return rc, out.getvalue()


def _row(text, label):
    """What follows ``label`` on the line that starts with it."""
    match = re.search(rf"^ +{re.escape(label)}(.*)$", text, re.M)
    assert match, f"no row {label!r} in\n{text}"
    return match.group(1)


def _numbers(text):
    return [float(x) for x in re.findall(NUMBER, text)]


def test_demo_prints_every_comparison(demo_output):
    rc, out = demo_output
    assert rc == 0
    for heading in ("first calls", "1. The default calls", "2. Time to scikit-learn's objective",
                    "3. A small problem", "4. Many small problems", "Summary"):
        assert heading in out
    assert re.search(rf"first calls .*: {NUMBER} s \(nmf {NUMBER} s, nmf_many {NUMBER} s\)", out)
    assert re.search(r"BLAS threads: \w+ 1$", out, re.M)  # --blas-threads 1


@pytest.mark.parametrize("label, columns", [
    ("nn.nmf(X, 6, max_iter=20)", 4),                  # time, iterations, objective, rel. error
    ("NMF(6, max_iter=20).fit_transform(X)", 4),
    ("nn.nmf(X, 6, init=(W0, H0), max_iter=", 3),      # time, iterations, objective
    ("NMF(6, init='custom', max_iter=20)", 3),
    ("nn.nmf(X, 5, solver='cd')", 2),                  # ms per call, objective
    ("non_negative_factorization(X, solver='cd')", 2),
    ("nn.nmf_many(S, 4, init=(W0s, H0s))", 2),         # seconds, mean objective
    ("for i: non_negative_factorization(S[i], ...)", 2),
])
def test_demo_rows_hold_numbers(demo_output, label, columns):
    row = _row(demo_output[1], label)
    if label.endswith("max_iter="):  # the iterations that reach scikit-learn's objective
        iterations, row = row.split(", tol=0)", 1)
        assert int(iterations) >= 1
    numbers = _numbers(re.sub(r"^ *[a-z+]+ ", "", row))  # drop the solver column
    assert len(numbers) == columns, row
    assert all(x >= 0 for x in numbers)


def test_demo_objectives_agree_where_the_algorithms_do(demo_output):
    """Rows 3 and 4 run the same coordinate descent from the same starts on both sides."""
    out = demo_output[1]
    for ours, theirs in (("nn.nmf(X, 5, solver='cd')", "non_negative_factorization(X, "),
                         ("nn.nmf_many(S, 4, init=(W0s, H0s))", "for i: non_negative_")):
        f_ours, f_theirs = _numbers(_row(out, ours))[-1], _numbers(_row(out, theirs))[-1]
        assert f_ours == pytest.approx(f_theirs, rel=1e-4)


def test_demo_summary_has_a_ratio_per_comparison(demo_output):
    summary = demo_output[1].split("Summary")[1]
    for label in ("default calls:", "same objective:", "small fit (100×50):",
                  "nmf_many (6 × 64×32):"):
        assert re.search(rf"{re.escape(label)} +{RATIO}", summary), summary


@pytest.mark.parametrize("option", ["--repeat", "--many", "--max-iter", "--n-components",
                                    "--blas-threads"])
def test_demo_rejects_counts_below_one(option, capsys):
    assert cli.main(["demo", option, "0"]) == cli.EXIT_USAGE
    assert f"{option} must be at least 1" in capsys.readouterr().err
