"""Property-based: random shapes, labels, scales and penalties; all witnesses agree.

Hypothesis draws m rows in [1, 64], n features in [1, 16], k classes in [2, 10], labels that
always leave at least one class absent, parameters of scale 1e-3 to 1e3, and l2 in {0, 0.01, 1}.
Every backend's loss and gradients must be finite and pass the four witnesses of witnesses.py.
"""

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from witnesses import check_witnesses


@st.composite
def problems(draw):
    m = draw(st.integers(1, 64))
    n = draw(st.integers(1, 16))
    k = draw(st.integers(2, 10))
    present = draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=k - 1, unique=True))
    labels = draw(st.lists(st.sampled_from(present), min_size=m, max_size=m))
    scale = 10.0 ** draw(st.integers(-3, 3))
    l2 = draw(st.sampled_from([0.0, 0.01, 1.0]))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    X = torch.randn(m, n, generator=generator, dtype=torch.float64)
    params = {
        "weight": scale * torch.randn(n, k, generator=generator, dtype=torch.float64),
        "bias": scale * torch.randn(k, generator=generator, dtype=torch.float64),
    }
    return X, torch.tensor(labels), params, l2


@given(problems())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_all_backends_agree_with_all_witnesses(problem):
    X, y, params, l2 = problem
    gradients = check_witnesses(X, y, params, l2, fast_gradcheck=True)
    for g in gradients.values():
        assert all(torch.isfinite(value).all() for value in g.values())
