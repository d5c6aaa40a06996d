"""How a training run ends, told truthfully: diverged (exit 1), converged or not (with the
gradient that says so), stopped early by --tol, interrupted by Ctrl-C (exit 130) or SIGTERM
(exit 143), and weights
that read as coefficients of the original features.

Each claim of the command is checked against a second computation: the gradient the summary
reports against one recomputed from the reported parameters, the epoch --tol stopped at against
the library's run one check earlier, the weights in original units against the standardised
model they came from.
"""

import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading

import pytest
import torch
from conftest import run_main
from torch.nn import functional as F

import iris_torch
from iris_torch import checkpoint, training
from iris_torch.cli.train import main, perplexity

TRAIN = ["--json", "--device", "cpu"]


def run(capsys, *flags):
    return run_main(main, [*TRAIN, *flags], capsys)


def summary_of(capsys, *flags):
    code, out, err = run(capsys, *flags)
    assert code == 0, err
    return json.loads(out), err


def iris_split(dtype=torch.float32):
    data = iris_torch.load_iris()
    X_train, X_test, y_train, y_test = iris_torch.train_test_split(data.X, data.y)
    scaler = iris_torch.Standardizer.fit(X_train)
    return scaler, scaler.transform(X_train).to(dtype), y_train, X_test, y_test


# -- divergence ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lr", ["100", "30"])
def test_a_learning_rate_far_too_large_stops_with_one_line_and_exit_1(lr, capsys, tmp_path):
    model = tmp_path / "model.pt"
    code, out, err = run(capsys, "--lr", lr, "--save", str(model))
    assert (code, out) == (1, "")
    assert re.fullmatch(
        rf"python -m iris_torch.train: error: training diverged: the loss rose from 1.1\d* to "
        rf"\S+ in epoch \d+; try a smaller --lr \(it was {lr}\)\n",
        err,
    ), err
    assert not model.exists() and list(tmp_path.iterdir()) == []


def test_the_divergence_check_compares_with_the_loss_at_the_start():
    """The epoch it names is the first whose loss passed DIVERGED times the initial loss."""
    _, X, y, _, _ = iris_split()
    model = iris_torch.make_backend("manual", 4, 3, lr=30.0)
    start = model.loss(X, y).item()
    with pytest.raises(iris_torch.DivergenceError) as raised:
        iris_torch.fit(model, X, y, epochs=1000)
    losses = []
    again = iris_torch.make_backend("manual", 4, 3, lr=30.0)
    for _ in range(raised.value.epoch):
        losses.append(again.step(X, y).item())
    assert max(losses[:-1]) <= training.DIVERGED * start < losses[-1] == raised.value.loss


def test_perplexity_is_inf_where_exp_overflows_and_json_keeps_it():
    assert perplexity(0.5) == math.exp(0.5)
    assert perplexity(1e4) == math.inf
    assert json.loads(json.dumps({"perplexity": perplexity(1e4)}))["perplexity"] == math.inf


# -- convergence --------------------------------------------------------------------------------


def test_one_epoch_does_not_converge_and_a_warning_says_what_to_change(capsys):
    summary, err = summary_of(capsys, "--epochs", "1")
    assert summary["converged"] is False and summary["epochs_run"] == 1
    ratio = summary["grad_norm"] / summary["grad_norm_start"]
    assert ratio > summary["tol"]
    assert err == (
        f"python -m iris_torch.train: warning: did not converge in 1 epoch: the gradient's "
        f"norm is {ratio:.3g} of its first value, above --tol 0.01; train longer (--epochs) or "
        "try another --lr\n"
    )


def test_a_default_run_converges_without_a_warning_and_reports_the_true_gradient(capsys):
    summary, err = summary_of(capsys)
    assert err == "" and summary["converged"] is True
    assert summary["epochs_run"] < summary["epochs"]  # --tol stopped it early
    # The gradient's norm, recomputed in float64 from the reported parameters by autograd.
    _, X, y, _, _ = iris_split(torch.float64)
    W = torch.tensor(summary["weight"], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(summary["bias"], dtype=torch.float64, requires_grad=True)
    loss = F.cross_entropy(X @ W + b, y) + summary["l2"] * W.square().sum()
    norm = math.sqrt(sum(g.square().sum().item() for g in torch.autograd.grad(loss, [W, b])))
    assert summary["grad_norm"] == pytest.approx(norm, rel=1e-4)
    assert summary["grad_norm"] <= summary["tol"] * summary["grad_norm_start"]


def test_tol_stops_at_the_first_check_below_it_and_says_which_epoch(capsys):
    code, out, err = run_main(main, ["--device", "cpu", "--tol", "0.1"], capsys)
    assert code == 0 and err == ""
    stopped = int(re.search(r"Converged at epoch (\d+) of 1000", out).group(1))
    assert stopped % training.CHECK_EVERY == 0
    assert f"Train Epoch: {stopped}/1000" in out  # the last epoch is logged, whatever --log-every
    # The library, run to the check before and to that epoch: above 0.1 there, below here.
    _, X, y, _, _ = iris_split()
    for epochs, below in ((stopped - training.CHECK_EVERY, False), (stopped, True)):
        model = iris_torch.make_backend("autograd", 4, 3)
        start = training.gradient_norm(model, X, y)
        iris_torch.fit(model, X, y, epochs=epochs)
        assert (training.gradient_norm(model, X, y) <= 0.1 * start) is below


def test_tol_zero_runs_every_epoch_and_tests_nothing(capsys):
    """No warning that a run asked to test nothing did not converge."""
    summary, err = summary_of(capsys, "--tol", "0", "--epochs", "40")
    assert summary["epochs_run"] == 40 and summary["converged"] is None and err == ""
    code, out, err = run_main(main, ["--tol", "0", "--epochs", "40", "--log-every", "0"], capsys)
    assert code == 0 and err == ""
    # --log-every 0: no progress lines, so the report comes first, with no blank line before
    assert out.splitlines()[0].startswith("Ran 40 epochs: the gradient's norm is ")
    assert out.splitlines()[0].endswith(" of its first value (--tol 0: no test of convergence)")


# -- progress -----------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(("flags", "shown"), [((), True), (("--json",), False)])
def test_a_progress_bar_shows_on_a_terminal_but_never_with_json(flags, shown, capsys, monkeypatch):
    monkeypatch.setattr(training, "PROGRESS_DELAY", 0)  # else only runs over 2 s show one
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code = main(["--device", "cpu", "--epochs", "30", "--log-every", "10", *flags])
    out = capsys.readouterr().out
    assert code == 0
    bar = terminal.getvalue()
    assert ("training:" in bar and "30/30" in bar and "loss=" in bar) is shown, bar
    assert "training:" not in out  # the bar never goes to stdout, whatever it holds


def test_no_progress_bar_when_stderr_is_not_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(training, "PROGRESS_DELAY", 0)
    code, _, err = run_main(main, ["--device", "cpu", "--epochs", "30"], capsys)
    assert code == 0 and "training:" not in err and "30/30" not in err


# -- Ctrl-C and SIGTERM -------------------------------------------------------------------------

# What ends a run: the signal, the exit code a shell gives such a process, and what the line says.
SIGNALS = {
    "ctrl-c": (signal.SIGINT, 130, "interrupted"),
    "sigterm": (signal.SIGTERM, 143, "stopped by SIGTERM"),
}


def interrupted(tmp_path, signal_number, *flags, again: bool = False):
    """A training process that logs every epoch, sent the signal once it has started training
    (with `again`, twice at once, and a third time once it has begun to say how it ended).

    Started with SIGINT's default action, as from a terminal, whatever this test process has:
    a shell without job control starts a background command (`pytest &` in a script) with
    SIGINT ignored, its children inherit that, and a Python started so never turns SIGINT into
    KeyboardInterrupt, as it should not. A handler of Python's own is reset to the default
    action when the child starts its program, where an ignored signal would stay ignored."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "iris_torch.train", "--tol", "0", "--epochs", "10000000"),
                *("--log-every", "1", *flags),
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        signal.signal(signal.SIGINT, before)
    for line in process.stdout:
        if line.startswith("Train Epoch: 3/"):
            break
    process.send_signal(signal_number)
    if not again:
        _, err = process.communicate(timeout=60)
        return process.returncode, err
    process.send_signal(signal_number)
    # stderr read here alone, line by line (communicate() would lose what readline() has
    # buffered), and stdout drained beside, so that the child never waits on a full pipe
    threading.Thread(target=process.stdout.read, daemon=True).start()
    first = process.stderr.readline()  # the command is ending: saving, or saying so
    process.send_signal(signal_number)
    rest = process.stderr.read()
    return process.wait(timeout=60), first + rest


@pytest.mark.parametrize("how", SIGNALS)
def test_a_signal_ends_training_with_one_line_its_exit_code_and_no_file(how, tmp_path):
    signal_number, exit_code, said = SIGNALS[how]
    code, err = interrupted(tmp_path, signal_number, "--save", "model.pt")
    assert code == exit_code
    assert re.fullmatch(
        rf"python -m iris_torch.train: {said} at epoch \d+ of 10000000; nothing was saved\n",
        err,
    ), err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("again", [False, True], ids=["once", "again while it ends"])
@pytest.mark.parametrize("how", SIGNALS)
def test_save_on_interrupt_saves_the_model_as_it_was_and_says_so(how, again, tmp_path):
    """Also when Ctrl-C is pressed again (or SIGTERM sent again) while the first is ending the
    run: the model is still saved whole, the same two lines say so, with the same exit code,
    and no traceback from Python's shutdown."""
    signal_number, exit_code, said = SIGNALS[how]
    flags = ("--save", "model.pt", "--save-on-interrupt")
    code, err = interrupted(tmp_path, signal_number, *flags, again=again)
    assert code == exit_code
    assert re.fullmatch(
        r"python -m iris_torch.train: wrote the model to model.pt\n"
        rf"python -m iris_torch.train: {said} at epoch \d+ of 10000000; "
        r"saved the model as it was to model.pt\n",
        err,
    ), err
    assert os.listdir(tmp_path) == ["model.pt"]
    assert checkpoint.load(tmp_path / "model.pt").class_names[0] == "Iris-setosa"


AT_EXIT = """
import signal, sys
from iris_torch.cli import run_as_program
from iris_torch.cli.train import main

def observed():  # main(), and the signals' handling the moment it has returned
    code = main(["--epochs", "1", "--json"])
    print(signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    return code

run_as_program(observed)
"""


def test_a_command_run_as_a_program_ends_with_the_signals_ignored(tmp_path):
    """From the end of its work to the end of the process (Python's atexit callbacks, where a
    signal would print a traceback, or kill it instead of the exit code it has chosen), Ctrl-C
    and SIGTERM are ignored; there is no moment at which a handler is put back first."""
    result = subprocess.run(
        [sys.executable, "-c", AT_EXIT], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.splitlines()[-1]
    assert last == f"{signal.SIG_IGN} {signal.SIG_IGN}"


def test_calling_main_leaves_the_callers_sigterm_handling_as_it_was(capsys):
    """main() turns SIGTERM into an interrupt only while it runs: a program (or a test runner)
    that calls it keeps its own handler."""
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    assert run(capsys, "--epochs", "1")[0] == 0
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_save_on_interrupt_needs_save(capsys):
    code, out, err = run(capsys, "--save-on-interrupt")
    assert (code, out) == (2, "")
    assert err == (
        "python -m iris_torch.train: error: --save-on-interrupt needs --save PATH: "
        "where to write the model\n"
    )


# -- weights in the units of the original features ----------------------------------------------


def test_weights_in_original_units_give_the_same_logits_on_raw_rows(capsys):
    summary, _ = summary_of(capsys, "--epochs", "50")
    scaler, _, _, X_test, _ = iris_split()
    weight, bias, weight_raw, bias_raw = (
        torch.tensor(summary[key], dtype=torch.float64)
        for key in ("weight", "bias", "weight_raw", "bias_raw")
    )
    X_raw = X_test.double()
    from_raw = X_raw @ weight_raw + bias_raw
    expected = scaler.transform(X_raw) @ weight + bias
    torch.testing.assert_close(from_raw, expected, rtol=1e-9, atol=1e-9)
    assert not torch.allclose(weight_raw, weight)


def test_without_standardising_the_raw_weights_are_the_weights(capsys):
    summary, _ = summary_of(capsys, "--epochs", "5", "--no-standardize", "--lr", "0.01")
    assert summary["weight_raw"] == [[float(v) for v in row] for row in summary["weight"]]
    assert summary["bias_raw"] == summary["bias"]
