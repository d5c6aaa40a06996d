"""Fixtures shared by the test modules: the Iris split as the CLI prepares it."""

import pytest
import torch

import iris_torch


def pytest_collection_modifyitems(items):
    """If the notebook tests are to run, start executing the notebooks now, in the background."""
    for item in items:
        if item.module.__name__ == "test_notebooks":
            item.module.start()
            return


@pytest.fixture(scope="session")
def iris_split():
    """Standardised Iris, split as the CLI does (seed 0, 20 % test), in float64."""
    data = iris_torch.load_iris()
    X_train, X_test, y_train, y_test = iris_torch.train_test_split(data.X, data.y)
    standardizer = iris_torch.Standardizer.fit(X_train)
    X_train, X_test = standardizer.transform(X_train), standardizer.transform(X_test)
    return X_train.double(), X_test.double(), y_train, y_test


def random_params(n_features, n_classes, scale, seed, dtype=torch.float64):
    """Parameters away from the seeded initial point, so that tests do not only see one spot."""
    generator = torch.Generator().manual_seed(seed)
    return {
        "weight": scale * torch.randn(n_features, n_classes, generator=generator, dtype=dtype),
        "bias": scale * torch.randn(n_classes, generator=generator, dtype=dtype),
    }


def run_main(main, argv, capsys):
    """A command's main() in this process: (exit code, stdout, stderr), as from a subprocess."""
    try:
        code = main(list(argv))
    except SystemExit as exit:  # argparse exits on bad flags
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err
