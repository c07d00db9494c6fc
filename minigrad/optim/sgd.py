"""Stochastic gradient descent with momentum, dampening, weight decay and Nesterov momentum (torch.optim.SGD's
update, step for step).

For each parameter p with gradient g, at step t:

    g = g + weight_decay * p                                 (L2 penalty (weight_decay/2) ||p||^2)
    b = g                           at the first step        (the momentum buffer)
    b = momentum * b + (1 - dampening) * g   afterwards
    d = g + momentum * b            with nesterov            (look one momentum step ahead)
    d = b                           otherwise (d = g when momentum is 0)
    p = p - lr * d
"""

from minigrad.autograd.mode import no_grad
from minigrad.optim.optimizer import Optimizer


class SGD(Optimizer):
    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: lr, momentum and weight_decay must be >= 0, got lr={lr}, momentum={momentum}, "
                             f"weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov))

    @no_grad()
    def step(self):
        for group in self.param_groups:
            momentum, dampening = group["momentum"], group["dampening"]
            for parameter in group["params"]:
                if parameter.grad is None:
                    continue
                direction = parameter.grad.data
                if group["weight_decay"] != 0:
                    direction = direction + group["weight_decay"] * parameter.data
                if momentum != 0:
                    state = self.state.setdefault(parameter, {})
                    if "momentum_buffer" not in state:
                        buffer = direction.copy()
                    else:
                        buffer = momentum * state["momentum_buffer"] + (1 - dampening) * direction
                    state["momentum_buffer"] = buffer
                    direction = direction + momentum * buffer if group["nesterov"] else buffer
                parameter.data -= group["lr"] * direction
