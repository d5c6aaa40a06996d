"""The objective every backend minimises, written once.

    L(W, b) = mean cross-entropy of softmax(XW + b) against the labels  +  l2 * sum(W ** 2)

Shapes: m rows, n features, k classes. Logits Z are (m, k); labels y are int64 class indices (m,),
as F.cross_entropy takes them.
The bias is not penalised (see README: "Why the bias is only determined up to a constant").
"""

import torch


def softmax(Z: torch.Tensor) -> torch.Tensor:
    """(m, k) logits -> (m, k) probabilities, each row summing to 1.

    Each row's largest logit is subtracted first. Softmax is unchanged (the factor exp(-max)
    cancels between top and bottom), and exp can no longer overflow: exp(89) is inf in float32.
    """
    E = (Z - Z.amax(dim=1, keepdim=True)).exp()
    return E / E.sum(dim=1, keepdim=True)


def log_softmax(Z: torch.Tensor) -> torch.Tensor:
    """(m, k) logits -> (m, k) log-probabilities, as z - logsumexp(z).

    Never log(softmax(Z)): a probability that underflows to 0 would give -inf, then nan.
    After the shift the largest entry of each row is 0, so the sum of exps lies in [1, k].
    """
    S = Z - Z.amax(dim=1, keepdim=True)
    return S - S.exp().sum(dim=1, keepdim=True).log()


def cross_entropy(Z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """0-dim: the mean over the m rows of -log softmax(Z)[i, y_i]; y holds class indices (m,).

    With Y the one-hot labels (m, k), this is the textbook -mean_i sum_j Y_ij log softmax(Z)_ij:
    each row of Y picks out one entry, and indexing picks the same entry.
    """
    rows = torch.arange(Z.shape[0], device=Z.device)
    return -log_softmax(Z)[rows, y].mean()


def l2_penalty(weight: torch.Tensor, l2: float) -> torch.Tensor:
    """l2 * sum of the squared weights, whatever their layout ((n, k) or nn.Linear's (k, n))."""
    return l2 * weight.pow(2).sum()
