"""The comparison of printed output that the README and notebook tests rely on can fail."""

import pytest
from printed import numbers, same_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sum: -3.5e-18", [-3.5e-18]),
        ("sum: +0.0e+00", [0.0]),
        ("loss 0.401429, 96.7%", [0.401429, 96.7]),
        ("tensor([[1.0000e+00, .5, 7.]])", [1.0, 0.5, 7.0]),
        ("perplexity inf, gap -inf, nan", [float("inf"), float("-inf"), float("nan")]),
        ("information, nanny, float32", [32.0]),
    ],
)
def test_every_spelling_of_a_float_is_read_as_a_number(text, expected):
    assert numbers(text) == pytest.approx(expected, nan_ok=True)


@pytest.mark.parametrize(
    ("stored", "fresh"),
    [
        ("sum of db: -3.5e-18", "sum of db: +0.0e+00"),  # noise on both sides of zero
        ("Loss: 0.401429  Accuracy: 96.7%", "Loss:  0.401431 Accuracy: 96.7%"),
        ("tensor([0.8808, 0.1192, 0.0000])", "tensor([8.8080e-01, 1.1920e-01, 7.2173e-40])"),
        ("perplexity inf", "perplexity inf"),
        ("-0.0000", "0.0000"),
    ],
)
def test_same_words_and_close_numbers_are_the_same_text(stored, fresh):
    assert same_text(stored, fresh)


@pytest.mark.parametrize(
    ("stored", "fresh"),
    [
        ("Loss: 0.401429", "Loss: 0.402429"),  # a change in the 3rd decimal means something
        ("accuracy 29/30", "accuracy 28/30"),
        ("Iris-setosa 10", "Iris-virginica 10"),
        ("weights: 1.5 2.5", "weights: 1.5"),
        ("perplexity inf", "perplexity 1.16"),
        ("nan", "0.0"),
        ("1200.0", "1202.0"),  # beyond the relative tolerance too
    ],
)
def test_other_words_or_other_numbers_are_another_text(stored, fresh):
    assert not same_text(stored, fresh)
