"""The benchmark compares like with like, and writes the table it prints.

Timings themselves are not asserted here (they belong to the benchmark, not to a test).
"""

import re

import pytest
import torch

from iris_torch import BACKENDS, make_backend
from iris_torch.cli import bench


@pytest.mark.parametrize("name", BACKENDS)
def test_bare_loop_is_the_same_math_as_its_backend(name):
    """The overhead ratio means something only if the bare loop does the backend's work."""
    X, y = bench.iris_tensors()
    X = X.double()
    model = make_backend(name, 4, 3, dtype=torch.float64)
    step, params = bench.BARE[name](X, y, model.get_params(), model.lr, model.l2)
    for _ in range(20):
        torch.testing.assert_close(step(), model.step(X, y), rtol=1e-12, atol=1e-14)
    for key, value in model.get_params().items():
        torch.testing.assert_close(params()[key], value, rtol=1e-12, atol=1e-14)


def test_quick_run_prints_and_writes_one_row_per_backend(tmp_path, capsys):
    output = tmp_path / "bench.md"
    assert bench.main(["--quick", "--sections", "scale", "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert output.read_text() == printed
    rows = [line.split("|")[1:-1] for line in printed.splitlines() if line.startswith("| ")]
    by_backend = {cells[0].strip(): cells for cells in rows if cells[0].strip() in BACKENDS}
    assert sorted(by_backend) == sorted(BACKENDS)
    for cells in by_backend.values():
        floor_ms, step_ms, ratio = (float(cells[i]) for i in (1, 2, 3))
        # Times are printed to 0.1 ms and ratios to 0.01: the ratio must lie within what that
        # rounding allows.
        lowest = (step_ms - 0.05) / (floor_ms + 0.05) - 0.005
        highest = (step_ms + 0.05) / max(floor_ms - 0.05, 1e-9) + 0.005
        assert lowest <= ratio <= highest
    assert re.search(r"Machine: .+torch \d", printed)
