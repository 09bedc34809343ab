"""Every script in examples/ runs to the end (so the examples cannot rot)."""

import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    if "dask" in script.name:
        pytest.importorskip("distributed", reason="the Dask cluster tests need the dask extra (distributed)")
    env = dict(os.environ, NMF_NUMBA_EXAMPLE_QUICK="1")  # small sizes, few iterations
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr
    assert "relative error" in out.stdout


def test_there_are_examples():
    assert EXAMPLES
