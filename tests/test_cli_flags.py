"""Every flag of `train` reaches what it names: the command line trains exactly the model that
the Python API trains with the same settings, and each flag changes that model.

The API side is the README's library example, with the settings spelled out; the command line
runs in this process (same threads, same machine), so the two must agree to the last bit.
"""

import functools
import json

import pytest
import torch
from conftest import run_main

import iris_torch
from iris_torch.cli.train import main

DEFAULTS = {
    "backend": "autograd",
    "epochs": 1000,
    "lr": 0.1,
    "l2": 0.01,
    "batch_size": None,
    "test_size": 0.2,
    "seed": 0,
    "standardize": True,
    "dtype": "float32",
    "tol": 0.01,
}
SHORT = {"epochs": 30}  # the base of the one-flag rows, to keep them quick

ONE_FLAG = [
    (["--lr", "0.5"], {"lr": 0.5}),
    (["--l2", "0.1"], {"l2": 0.1}),
    (["--epochs", "31"], {"epochs": 31}),
    (["--batch-size", "16"], {"batch_size": 16}),
    (["--test-size", "0.4"], {"test_size": 0.4}),
    (["--seed", "3"], {"seed": 3}),
    (["--no-standardize"], {"standardize": False}),
    (["--dtype", "float64"], {"dtype": "float64"}),
    (["--tol", "0.5"], {"tol": 0.5}),  # the gradient is under half its first norm by epoch 10
]


@functools.cache
def api(**changes):
    """The model the library trains with DEFAULTS updated by `changes`, and its test split."""
    settings = {**DEFAULTS, **changes}
    dtype = getattr(torch, settings["dtype"])
    data = iris_torch.load_iris(dtype=settings["dtype"])
    X_train, X_test, y_train, y_test = iris_torch.train_test_split(
        data.X, data.y, test_size=settings["test_size"], seed=settings["seed"]
    )
    if settings["standardize"]:
        scaler = iris_torch.Standardizer.fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    X_train, X_test = X_train.to(dtype), X_test.to(dtype)
    model = iris_torch.make_backend(
        settings["backend"],
        data.n_features,
        data.n_classes,
        lr=settings["lr"],
        l2=settings["l2"],
        seed=settings["seed"],
        dtype=dtype,
    )
    iris_torch.fit(
        model,
        X_train,
        y_train,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        seed=settings["seed"],
        tol=settings["tol"],
    )
    return model, X_train, X_test, y_train, y_test


def cli(capsys, *flags):
    # --device cpu: the default, auto, would take a GPU where there is one, and the API runs on
    # the CPU.
    code, out, err = run_main(main, ["--json", "--device", "cpu", *flags], capsys)
    assert code == 0, err
    return json.loads(out)


def assert_same_model(summary, changes):
    model, X_train, X_test, y_train, y_test = api(**changes)
    params = model.get_params()
    dtype = params["weight"].dtype
    assert summary["dtype"] == str(dtype).removeprefix("torch.")
    for key in ("weight", "bias"):
        reported = torch.tensor(summary[key], dtype=dtype)  # JSON floats round-trip exactly
        assert torch.equal(reported, params[key]), f"{key}: {reported} != {params[key]}"
    assert (summary["n_train"], summary["n_test"]) == (len(y_train), len(y_test))
    assert summary["train_loss"] == model.loss(X_train, y_train).item()
    assert summary["test_accuracy"] == iris_torch.evaluate(model, X_test, y_test).accuracy


def test_defaults_are_the_documented_ones(capsys):
    assert_same_model(cli(capsys), {})


@pytest.mark.parametrize("name", iris_torch.BACKENDS)
def test_backend_flag(name, capsys):
    summary = cli(capsys, "--epochs", "30", "--backend", name)
    assert summary["backend"] == name
    assert_same_model(summary, {**SHORT, "backend": name})


@pytest.mark.parametrize(("flags", "changes"), ONE_FLAG, ids=[row[0][0] for row in ONE_FLAG])
def test_each_flag_reaches_what_it_names_and_changes_the_model(flags, changes, capsys):
    assert_same_model(cli(capsys, "--epochs", "30", *flags), {**SHORT, **changes})
    # The flag matters: without it, another model. (Else the line above would prove nothing.)
    base = api(**SHORT)[0].get_params()
    changed = api(**{**SHORT, **changes})[0].get_params()
    assert base["weight"].dtype != changed["weight"].dtype or not torch.equal(
        base["weight"], changed["weight"]
    )


def test_all_flags_at_once(capsys):
    flags = [
        *("--backend", "nn_module", "--lr", "0.3", "--l2", "0.001", "--epochs", "12"),
        *("--batch-size", "7", "--test-size", "0.25", "--seed", "11"),
        *("--no-standardize", "--dtype", "float64", "--tol", "0.001"),
    ]
    changes = {
        "backend": "nn_module",
        "lr": 0.3,
        "l2": 0.001,
        "epochs": 12,
        "batch_size": 7,
        "test_size": 0.25,
        "seed": 11,
        "standardize": False,
        "dtype": "float64",
        "tol": 0.001,
    }
    assert_same_model(cli(capsys, *flags), changes)


def test_the_help_gives_the_loops_own_check_interval():
    """--tol's help, written without importing the loop (and torch), names its interval."""
    from iris_torch import training
    from iris_torch.cli.train import build_parser

    text = " ".join(build_parser().format_help().split())
    assert f"checked every {training.CHECK_EVERY} epochs" in text
