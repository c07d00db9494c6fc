"""RMSprop (Hinton's lecture 6e), torch.optim.RMSprop's update step for step.

For each parameter p with gradient g:

    g = g + weight_decay * p                      (an L2 penalty in the gradient)
    v = alpha * v + (1 - alpha) * g^2             running mean of the squared gradient   (v starts at 0)
    centered=True: also a = alpha * a + (1 - alpha) * g, and the variance v - a^2 replaces v below
    d = sqrt(v) + eps                             per-element scale of the step
    momentum = 0:  p = p - lr * g / d
    momentum > 0:  b = momentum * b + g / d;  p = p - lr * b     (b starts at 0)

Unlike Adam there is no bias correction: early steps are larger, since v starts at 0.
"""

from minigrad.autograd.mode import no_grad
from minigrad.optim.optimizer import Optimizer


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        if lr < 0 or eps < 0 or weight_decay < 0 or momentum < 0 or not 0 <= alpha <= 1:
            raise ValueError(f"RMSprop: lr, eps, weight_decay and momentum must be >= 0 and alpha in [0, 1], got "
                             f"lr={lr}, alpha={alpha}, eps={eps}, weight_decay={weight_decay}, momentum={momentum}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered))

    @no_grad()
    def step(self):
        for group in self.param_groups:
            alpha = group["alpha"]
            for parameter in group["params"]:
                if parameter.grad is None:
                    continue
                xp = parameter.xp
                grad = parameter.grad.data
                if group["weight_decay"] != 0:
                    grad = grad + group["weight_decay"] * parameter.data
                state = self.state.get(parameter)
                if state is None:
                    state = self.state[parameter] = {"step": 0, "square_avg": xp.zeros_like(parameter.data)}
                    if group["momentum"] > 0:
                        state["momentum_buffer"] = xp.zeros_like(parameter.data)
                    if group["centered"]:
                        state["grad_avg"] = xp.zeros_like(parameter.data)
                state["step"] += 1
                state["square_avg"] = alpha * state["square_avg"] + (1 - alpha) * grad * grad
                variance = state["square_avg"]
                if group["centered"]:
                    state["grad_avg"] = alpha * state["grad_avg"] + (1 - alpha) * grad
                    variance = variance - state["grad_avg"] * state["grad_avg"]
                scale = xp.sqrt(variance) + group["eps"]
                if group["momentum"] > 0:
                    state["momentum_buffer"] = group["momentum"] * state["momentum_buffer"] + grad / scale
                    parameter.data -= group["lr"] * state["momentum_buffer"]
                else:
                    parameter.data -= group["lr"] * grad / scale
