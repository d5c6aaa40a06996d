"""Softmax regression with torch.nn: nn.Linear, nn.CrossEntropyLoss and torch.optim.SGD.

Shapes: m rows, n features, k classes. X (m, n), logits Z (m, k). nn.Linear stores its weight
as (k, n), the transpose of W, and computes Z = X W^T + b; get_params and set_params transpose
so that every backend speaks the same (n, k) layout.

Diff this file against autograd.py: the hand-written forward pass, loss and update are replaced
by torch.nn's layer, loss and optimizer. Two lines are subtle: SGD's weight_decay (see
__init__), and the shape in which the criterion gets the logits (see cross_entropy).
"""

import torch
from torch import nn

from .base import SoftmaxRegression
from .objective import l2_penalty


class NNModuleBackend(SoftmaxRegression):
    name = "nn_module"

    # -- parameters: owned by an nn.Linear layer and updated by an optimizer ----------------------

    def __init__(self, n_features: int, n_classes: int, **hyperparameters) -> None:
        super().__init__(n_features, n_classes, **hyperparameters)
        # skip_init: the layer's own random initialisation would draw from torch's global
        # generator; our seeded starting point overwrites it anyway (set_params below).
        self.linear = nn.utils.skip_init(
            nn.Linear, n_features, n_classes, dtype=self.dtype, device=self.device
        )
        self.criterion = nn.CrossEntropyLoss()  # takes logits: applies log-softmax itself
        # SGD's weight_decay=w adds w * W to the gradient, which is the gradient of
        # (w / 2) * sum(W ** 2). Our penalty is l2 * sum(W ** 2), so w = 2 * l2; and only on
        # the weight: the bias sits in its own group with no decay, as it is not penalised.
        self.optimizer = torch.optim.SGD(
            [
                {"params": [self.linear.weight], "weight_decay": 2 * self.l2},
                {"params": [self.linear.bias], "weight_decay": 0.0},
            ],
            lr=self.lr,
        )
        self.set_params(self.initial_params())

    def get_params(self) -> dict[str, torch.Tensor]:
        return {
            # (k, n) -> (n, k), copied into ordinary row-major order like every backend's
            "weight": self.linear.weight.detach().T.clone(memory_format=torch.contiguous_format),
            "bias": self.linear.bias.detach().clone(),
        }

    @torch.no_grad()  # an in-place change of a leaf that requires grad must not be recorded
    def set_params(self, params: dict[str, torch.Tensor]) -> None:
        params = self._checked(params)
        self.linear.weight.copy_(params["weight"].T)  # (n, k) -> (k, n)
        self.linear.bias.copy_(params["bias"])

    # -- forward ----------------------------------------------------------------------------------

    def logits(self, X: torch.Tensor) -> torch.Tensor:
        """(m, n) -> (m, k): Z = X W^T + b, computed by the layer."""
        return self.linear(X)

    # -- objective --------------------------------------------------------------------------------

    def loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """0-dim: mean cross-entropy over the m rows + l2 * sum(W ** 2).

        The penalty is added here so that the loss we report is the objective we minimise and
        compares with the other backends'; in training, SGD applies it through weight_decay.
        """
        return self.cross_entropy(X, y) + l2_penalty(self.linear.weight, self.l2)

    def cross_entropy(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """0-dim: mean cross-entropy of the layer's logits over the m rows, by the criterion.

        CrossEntropyLoss also takes logits shaped (N, k, d) with labels (N, d): N samples of d
        positions each, such as the pixels of an image. Handed our m rows as one sample of m
        positions, Z^T (1, k, m), it returns the same mean; but torch's CPU log-softmax then
        runs down the m positions, vectorised, instead of along (m, k)'s rows of only k: more
        than twice as fast on large data (python -m iris_torch.bench).
        """
        return self.criterion(self.logits(X).T.unsqueeze(0), y.unsqueeze(0))

    # -- gradients --------------------------------------------------------------------------------

    def gradients(self, X: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """dL/dW (n, k) and dL/db (k,), as the optimizer will apply them.

        Autograd differentiates the cross-entropy alone; then each parameter gets
        weight_decay * param from its own parameter group, as SGD adds it. So a wrong
        weight_decay shows here, whatever the groups.
        """
        weight, bias = self.linear.weight, self.linear.bias
        decay = {
            id(param): group["weight_decay"]
            for group in self.optimizer.param_groups
            for param in group["params"]
        }
        weight_grad, bias_grad = torch.autograd.grad(self.cross_entropy(X, y), (weight, bias))
        return {
            "weight": (weight_grad + decay[id(weight)] * weight.detach()).T.contiguous(),
            "bias": bias_grad + decay[id(bias)] * bias.detach(),
        }

    # -- update -----------------------------------------------------------------------------------

    def step(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One step of gradient descent on (X, y); returns the loss before the update."""
        self.optimizer.zero_grad()  # backward() adds into .grad: clear what the last step left
        cross_entropy = self.cross_entropy(X, y)
        cross_entropy.backward()  # the penalty is not in the graph: weight_decay applies it
        loss = cross_entropy.detach() + l2_penalty(self.linear.weight.detach(), self.l2)
        self.optimizer.step()  # param -= lr * (param.grad + weight_decay * param)
        return loss
