"""The objective every backend minimises, written once.

    L(W, b) = mean cross-entropy of softmax(XW + b) against the labels  +  l2 * sum(W ** 2)

Shapes: m rows, n features, k classes. Logits Z are (m, k); labels y are int64 class indices (m,),
as F.cross_entropy takes them.
The bias is not penalised (see README: "Why the bias is only determined up to a constant").
"""

import torch


def _shift(Z: torch.Tensor) -> torch.Tensor:
    """Subtract each row's largest logit: softmax is unchanged, and exp can no longer overflow.

    The maximum is detached: softmax ignores a constant per row, so its gradient through the
    shift is zero, and autograd need not trace (and store) it.
    """
    return Z - Z.detach().amax(dim=1, keepdim=True)


def softmax(Z: torch.Tensor) -> torch.Tensor:
    """(m, k) logits -> (m, k) probabilities, each row summing to 1."""
    E = _shift(Z).exp()
    return E / E.sum(dim=1, keepdim=True)


def log_softmax(Z: torch.Tensor) -> torch.Tensor:
    """(m, k) logits -> (m, k) log-probabilities, as z - logsumexp(z).

    Never log(softmax(Z)): a probability that underflows to 0 would give -inf, then nan.
    After the shift the largest entry of each row is 0, so the sum of exps lies in [1, k].
    """
    S = _shift(Z)
    return S - S.exp().sum(dim=1, keepdim=True).log()


def cross_entropy(Z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean over the m rows of -log softmax(Z)[i, y_i]; y holds class indices (m,). 0-dim.

    With Y the one-hot labels (m, k), this is the textbook -mean_i sum_j Y_ij log softmax(Z)_ij:
    each row of Y picks out one entry. gather picks the same entry without building Y.
    Computed as log(sum_j exp s_j) - s_y, with s the shifted logits: the same number, since
    log softmax(z)_j = s_j - log(sum exp s). It needs one (m, k) temporary fewer than building
    log_softmax(Z) first, which at a million rows is most of the cost.
    """
    S = _shift(Z)
    label_logit = S.gather(1, y.unsqueeze(1)).squeeze(1)  # (m,): each row's s_y
    return (S.exp().sum(dim=1).log() - label_logit).mean()


def l2_penalty(weight: torch.Tensor, l2: float) -> torch.Tensor:
    """l2 * sum of the squared weights, whatever their layout ((n, k) or nn.Linear's (k, n))."""
    return l2 * weight.pow(2).sum()
