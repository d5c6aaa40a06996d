"""Softmax regression with torch.nn: nn.Linear, nn.CrossEntropyLoss and torch.optim.SGD.

Shapes: m rows, n features, k classes. X (m, n), logits Z (m, k), y = labels (m,). nn.Linear
stores its weight as (k, n), the transpose of W, and computes Z = X W^T + b; get_params and
set_params transpose, so that every backend speaks the same (n, k) layout.

Diff this file against autograd.py: the hand-written forward pass, loss and update are replaced
by torch.nn's layer, loss and optimizer. Two lines are subtle: SGD's weight_decay, and the
criterion's reduction, which matters once the classes have weights (see __init__).
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
        # nn.Linear draws a random start of its own from torch's global generator. fork_rng puts
        # that generator back as it was, so that creating a model changes nobody else's random
        # numbers; set_params then replaces the draw with the seeded start every backend shares.
        with torch.random.fork_rng(devices=[]):
            self.linear = nn.Linear(n_features, n_classes, dtype=self.dtype).to(self.device)
        self.set_params(self.initial_params())
        # nn.CrossEntropyLoss takes logits: it applies log-softmax itself. Given weights s, it
        # multiplies row i's cross-entropy by s[y_i]; but its default reduction="mean" then
        # divides by the batch's sum of those weights, not by its rows m: a weighted mean, which
        # on minibatches is another objective than ours (see objective.py). So with weights the
        # criterion sums, and cross_entropy below divides by the rows. Without weights its mean
        # is ours (a sum divided afterwards can differ from it in the last bit on a GPU).
        if self.class_weight is None:
            self.criterion = nn.CrossEntropyLoss()
        else:
            self.criterion = nn.CrossEntropyLoss(weight=self.class_weight, reduction="sum")
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

    def get_params(self) -> dict[str, torch.Tensor]:
        return {
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

    def cross_entropy(self, Z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """0-dim: the criterion on the logits Z (m, k), over the m rows (see __init__)."""
        if self.criterion.reduction == "sum":
            return self.criterion(Z, y) / Z.shape[0]
        return self.criterion(Z, y)

    def loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """0-dim: mean cross-entropy over the m rows (row i's times s_{y_i} with class
        weights) + l2 * sum(W ** 2).

        The penalty is added here so that the loss we report is the objective we minimise and
        compares with the other backends'; in training, SGD applies it through weight_decay.
        """
        return self.cross_entropy(self.logits(X), y) + l2_penalty(self.linear.weight, self.l2)

    # -- gradients --------------------------------------------------------------------------------

    def gradients(self, X: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """dL/dW (n, k) and dL/db (k,), as a step applies them.

        Autograd differentiates the cross-entropy alone; SGD then adds weight_decay * W, that is
        2 * l2 * W, to the weight's gradient, and nothing to the bias's.
        """
        weight, bias = self.linear.weight, self.linear.bias
        dW, db = torch.autograd.grad(self.cross_entropy(self.logits(X), y), (weight, bias))
        dW = dW + 2 * self.l2 * weight.detach()  # (k, n)
        return {"weight": dW.T.contiguous(), "bias": db}  # (k, n) -> (n, k)

    # -- update -----------------------------------------------------------------------------------

    def step(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One step of gradient descent on (X, y); returns the loss before the update."""
        self.optimizer.zero_grad()  # backward() adds into .grad: clear what the last step left
        cross_entropy = self.cross_entropy(self.logits(X), y)
        cross_entropy.backward()  # the penalty is not in the graph: weight_decay applies it
        loss = cross_entropy.detach() + l2_penalty(self.linear.weight.detach(), self.l2)
        self.optimizer.step()  # param -= lr * (param.grad + weight_decay * param)
        return loss
