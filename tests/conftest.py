"""Fixtures shared by the test modules: the Iris split as the CLI prepares it."""

import pytest
import torch

import iris_torch


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
