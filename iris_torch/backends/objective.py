"""The objective every backend minimises, written once.

    L(W, b) = mean cross-entropy of softmax(XW + b) against the labels  +  l2 * sum(W ** 2)

Shapes: m rows, n features, k classes. Logits Z are (m, k); labels y are int64 class indices (m,),
as F.cross_entropy takes them.
The bias is not penalised (see README: "Why the bias is only determined up to a constant").

With class weights s (k,), the hyperparameter class_weight, row i's cross-entropy CE_i counts
s_{y_i} times, and the sum is still divided by the number of rows m, not by the sum of weights:

    L(W, b) = (1/m) * sum_i s_{y_i} * CE_i  +  l2 * sum(W ** 2)

Why m:

- It is scikit-learn's objective, sum_i s_{y_i} CE_i + ||W||^2 / (2C), divided by m, when
  C = 1 / (2 * l2 * m): the same minimiser. (With two classes scikit-learn fits one weight
  vector d, the difference of our two columns; our penalty is least, l2 * ||d||^2 / 2, with
  the columns at -d/2 and d/2, so there C = 1 / (l2 * m).)
- A batch's loss is then an unbiased estimate of the whole set's, and the batches of an epoch,
  each weighted by its rows, add up to it exactly. Divided by the batch's sum of weights (what
  nn.CrossEntropyLoss(weight=s) does by default), each batch would be a weighted mean with its
  own denominator, and a batch rich in a heavy class would count as much as one without.
- For the same reason data-parallel training (iris_torch.distributed) stays exact: each rank's
  loss and gradients times its rows m_r, summed and divided by m, are the whole batch's.

With balanced weights s_c = m / (k * m_c) (data.prepare.balanced_class_weights), the weights of
the m training rows add up to m, so on the full training set it is the weighted mean as well.
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


def cross_entropy(
    Z: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """0-dim: the mean over the m rows of -log softmax(Z)[i, y_i]; y holds class indices (m,).

    With Y the one-hot labels (m, k), this is the textbook -mean_i sum_j Y_ij log softmax(Z)_ij:
    each row of Y picks out one entry, and indexing picks the same entry. With weight, the class
    weights s (k,), row i's term is multiplied by s_{y_i} and the sum still divided by m (see
    the module's docstring for why m and not the sum of the weights).
    """
    rows = torch.arange(Z.shape[0], device=Z.device)
    losses = -log_softmax(Z)[rows, y]  # (m,): each row's cross-entropy
    if weight is not None:
        losses = weight[y] * losses
    return losses.mean()


def l2_penalty(weight: torch.Tensor, l2: float) -> torch.Tensor:
    """l2 * sum of the squared weights, whatever their layout ((n, k) or nn.Linear's (k, n))."""
    return l2 * weight.pow(2).sum()
