"""Losses as modules, with torch.nn's names and arguments: ``criterion = nn.CrossEntropyLoss(); criterion(z, t)``.
Each calls the function of the same name in ``minigrad.nn.functional``."""

from minigrad.nn import functional as F
from minigrad.nn.modules.module import Module


class _Loss(Module):
    # keyword-only, as in effect in PyTorch, whose first positional arguments are deprecated ones (size_average)
    def __init__(self, *, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    def __init__(self, weight=None, *, reduction="mean", ignore_index=-100, label_smoothing=0.0):
        super().__init__(reduction=reduction)
        self.weight, self.ignore_index, self.label_smoothing = weight, ignore_index, label_smoothing

    def forward(self, input, target):  # noqa: A002  (PyTorch's argument name)
        return F.cross_entropy(input, target, self.weight, self.reduction, self.ignore_index, self.label_smoothing)


class NLLLoss(_Loss):
    def __init__(self, weight=None, *, reduction="mean", ignore_index=-100):
        super().__init__(reduction=reduction)
        self.weight, self.ignore_index = weight, ignore_index

    def forward(self, input, target):  # noqa: A002
        return F.nll_loss(input, target, self.weight, self.reduction, self.ignore_index)


class MSELoss(_Loss):
    def forward(self, input, target):  # noqa: A002
        return F.mse_loss(input, target, self.reduction)


class BCELoss(_Loss):
    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy_with_logits(input, target, self.reduction)


class L1Loss(_Loss):
    def forward(self, input, target):  # noqa: A002
        return F.l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    def __init__(self, *, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):  # noqa: A002
        return F.huber_loss(input, target, self.reduction, self.delta)
