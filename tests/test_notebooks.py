"""The notebooks run clean from a fresh kernel, and the outputs committed with them are true.

Each notebook in notebooks/ is executed top to bottom in a new python3 kernel, with the
notebooks folder as the working directory, as a learner would run it; a cell that raises fails
that notebook's test. The committed copy must be the result of such a run: execution counts
1, 2, 3, ..., no stored errors, an output wherever the fresh run produced one, and the same
text, compared as tests/printed.py compares printed output: the same words, and numbers close to
the last printed digit or so, as the last digits may vary with the CPU.

After changing a notebook or the package, execute the notebooks and write them back with their
outputs by running this file (all of them, or the ones named):

    python tests/test_notebooks.py [notebooks/02_manual_gradients.ipynb ...]
"""

import asyncio
import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from printed import same_text

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
EXPECTED = (
    "01_data",
    "02_manual_gradients",
    "03_autograd",
    "04_nn_module",
    "05_functional",
    "06_gradient_equivalence",
    "07_results",
    "08_scaling_up",
    "09_many_processes",
)

# One thread per kernel: Iris-sized tensors gain nothing from a second one, and on a busy
# machine waking it can cost milliseconds per operation (training steps 50 times slower).
KERNEL_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


async def execute(path: Path) -> nbformat.NotebookNode:
    """The notebook at `path` after a clean top-to-bottom run, with its metadata trimmed."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        record_timing=False,
        coalesce_streams=True,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    await client.async_execute(env=KERNEL_ENV)
    # Only what a reader needs: the kernel to run it with. No versions, timings or widget state,
    # which would change the file on every run without changing what it teaches.
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for cell in notebook.cells:
        cell.metadata = {}
    return notebook


def execute_all(paths: list[Path], at_once: int) -> dict[Path, nbformat.NotebookNode | Exception]:
    """Each notebook executed, `at_once` at a time; a failed run maps to its error."""

    async def run(path, slots):
        async with slots:
            try:
                return await execute(path)
            except Exception as error:  # kept, so that it fails this notebook's test alone
                return error

    async def run_all():
        slots = asyncio.Semaphore(at_once)
        return await asyncio.gather(*(run(path, slots) for path in paths))

    return dict(zip(paths, asyncio.run(run_all()), strict=True))


def shown(cell: nbformat.NotebookNode) -> list[str]:
    """The outputs of a code cell as text: kind, then the stream or plain-text representation."""
    texts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            texts.append(f"{output.name}: {output.text}")
        elif output.output_type == "error":
            texts.append(f"error: {output.ename}: {output.evalue}")
        else:
            kinds = ", ".join(sorted(output.data))
            texts.append(f"{output.output_type} ({kinds}): {output.data.get('text/plain', '')}")
    return texts


_running: Future | None = None


def start() -> Future:
    """Start executing the notebooks in the background, once.

    conftest.py calls this as soon as these tests are collected, so that the kernels (one at a
    time, on one core) run while the rest of the suite runs on the other, instead of after it.
    """
    global _running
    if _running is None:
        _running = ThreadPoolExecutor(max_workers=1).submit(execute_all, PATHS, 1)
    return _running


@pytest.fixture(scope="module")
def executed():
    return start().result()


def test_the_nine_notebooks_are_there():
    assert tuple(path.stem for path in PATHS) == EXPECTED


@pytest.mark.parametrize("path", PATHS, ids=[path.name for path in PATHS])
def test_notebook_runs_clean_and_its_stored_outputs_are_true(path, executed):
    fresh = executed[path]
    if isinstance(fresh, Exception):
        raise fresh  # a CellExecutionError names the cell and shows its traceback
    stored = nbformat.read(path, as_version=4)
    rerun = f"rerun the notebooks: python tests/test_notebooks.py ({path.name})"
    code_cells = [
        (before, after)
        for before, after in zip(stored.cells, fresh.cells, strict=True)
        if before.cell_type == "code"
    ]
    for count, (before, after) in enumerate(code_cells, start=1):
        first_line = before.source.split("\n", 1)[0]
        where = f"{path.name}, code cell {count} ({first_line!r})"
        assert before.execution_count == count, f"{where} was not run in order; {rerun}"
        before_texts, after_texts = shown(before), shown(after)
        assert not any(text.startswith("error:") for text in before_texts), where
        assert len(before_texts) == len(after_texts), f"{where}: outputs differ; {rerun}"
        for old, new in zip(before_texts, after_texts, strict=True):
            assert same_text(old, new), f"{where} stored\n{old}\nbut now shows\n{new}\n{rerun}"


if __name__ == "__main__":
    chosen = [Path(name).resolve() for name in sys.argv[1:]] or PATHS
    results = execute_all(chosen, at_once=2)  # two cores, a kernel on each
    for path, result in results.items():
        if isinstance(result, Exception):
            print(f"{path.name}: failed, not written\n{result}", file=sys.stderr)
        else:
            nbformat.write(result, path)
            print(f"{path.name}: written", file=sys.stderr)
    sys.exit(any(isinstance(result, Exception) for result in results.values()))
