"""``Linear``: the fully connected layer y = x @ W^T + b (the math is in :mod:`minigrad.nn.ops.linear`)."""

from minigrad.creation import zeros
from minigrad.nn import functional as F
from minigrad.nn import init, validation
from minigrad.nn.modules.module import Module, Parameter


class Linear(Module):
    """y = x @ weight.T + bias, for x of shape (..., in_features).

    weight has shape (out_features, in_features): row o holds the incoming weights of output unit o (the
    paper's convention, and PyTorch's). Both are drawn from U(-1/sqrt(in_features), 1/sqrt(in_features)).
    """

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(zeros(self.out_features, self.in_features))
        self.register_parameter("bias", Parameter(zeros(self.out_features)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        init.uniform_fan_in_(self.weight, self.in_features)
        if self.bias is not None:
            init.uniform_fan_in_(self.bias, self.in_features)

    def forward(self, x):
        weight, bias = self.weight, self.bias  # looked up once: each read of a registered name is a descriptor call
        validation.check_linear(validation.Described(self), x, weight, bias)
        return F.apply_linear(x, weight, bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
