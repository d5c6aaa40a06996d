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
    contenders = [*BACKENDS, "idiomatic"]
    by_name = {cells[0].strip(): cells for cells in rows if cells[0].strip() in contenders}
    assert sorted(by_name) == sorted(contenders)

    def within_rounding(numerator, denominator, ratio):
        # Times are printed to 0.1 ms and ratios to 0.01: the ratio must lie within what that
        # rounding allows.
        lowest = (numerator - 0.05) / (denominator + 0.05) - 0.005
        highest = (numerator + 0.05) / max(denominator - 0.05, 1e-9) + 0.005
        return lowest <= ratio <= highest

    idiomatic_ms = float(by_name["idiomatic"][2])
    for cells in by_name.values():
        floor_ms, step_ms, ratio, vs_idiomatic = (float(cells[i]) for i in (1, 2, 3, 4))
        assert within_rounding(step_ms, floor_ms, ratio)
        assert within_rounding(step_ms, idiomatic_ms, vs_idiomatic)
    assert by_name["fast"][8].strip() in ("yes", "**no**")  # the targets are judged for fast
    assert re.search(r"Machine: .+torch \d", printed)


def test_own_data_section_times_whole_processes_against_pandas(capsys):
    assert bench.main(["--quick", "--sections", "data"]) == 0
    printed = capsys.readouterr().out
    rows = [line.split("|")[1:-1] for line in printed.splitlines() if line.startswith("| ")][2:]
    assert [cells[3].strip() for cells in rows] == [
        "pandas.read_csv + 10 steps of the idiomatic loop",
        "pandas.read_csv, after the import",
        "pandas.read_csv, as a whole process",
        "pandas.read_csv + softmax + DataFrame.to_csv",
    ]
    for cells in rows:
        ours_s, ours_mb, theirs_s, theirs_mb = (float(cells[i]) for i in (1, 2, 4, 5))
        time_ratio, memory_ratio = float(cells[6]), float(cells[8])
        # Seconds are printed to 0.01 and MB to 1, ratios to 0.01: within what rounding allows.
        assert (ours_s - 0.005) / (theirs_s + 0.005) - 0.005 <= time_ratio
        assert time_ratio <= (ours_s + 0.005) / max(theirs_s - 0.005, 1e-9) + 0.005
        assert (ours_mb - 0.5) / (theirs_mb + 0.5) - 0.005 <= memory_ratio
        assert memory_ratio <= (ours_mb + 0.5) / (theirs_mb - 0.5) + 0.005
        assert 20 < theirs_mb < 4000  # a whole process's peak, not the benchmark's own
    work, whole = rows[1], rows[2]  # the same processes: the work is part of the whole
    assert float(work[1]) < float(whole[1]) and float(work[4]) < float(whole[4])
    verdicts = [cells[10].strip() for cells in rows]  # no target for whole processes, which
    assert verdicts[2] == ""  # import torch on our side and not on pandas'
    assert all(verdict in ("yes", "**no**") for verdict in verdicts[:2] + verdicts[3:])


def test_data_parallel_section_runs_the_command_in_one_and_two_processes(capsys):
    assert bench.main(["--quick", "--sections", "parallel"]) == 0
    out = capsys.readouterr().out
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| ")]
    worlds = [row for row in rows if row[0].strip().isdigit()]
    assert [row[0].strip() for row in worlds] == ["1", "2"]
    assert worlds[0][2].strip() == "1.00" and worlds[0][4].strip() == "1.00"
    # The arithmetic, within what the printing allows: seconds to 3 significant digits (a
    # quick run's epoch takes milliseconds), MB to 1, ratios to 0.01. No measurement is
    # asserted: a rounded one may be anything, 0 included.
    one_s, one_mb = float(worlds[0][1]), float(worlds[0][3])
    for row in worlds:
        seconds, speed_up, mb, memory_ratio = (float(row[i]) for i in (1, 2, 3, 4))
        assert one_s * 0.995 / (seconds * 1.005) - 0.005 <= speed_up
        assert speed_up <= one_s * 1.005 / (seconds * 0.995) + 0.005
        assert (mb - 0.5) / (one_mb + 0.5) - 0.005 <= memory_ratio
        assert memory_ratio <= (mb + 0.5) / max(one_mb - 0.5, 1e-9) + 0.005
    assert f"all-reduces {8 * (10 * (64 + 1) + 2):,} bytes" in out
