"""Adam (Kingma and Ba, 2015), torch.optim.Adam's update step for step (without amsgrad).

For each parameter p with gradient g, at step t = 1, 2, ...:

    g = g + weight_decay * p                     (L2 penalty added to the gradient, not AdamW's decoupled decay)
    m = beta1 * m + (1 - beta1) * g              running mean of the gradient      (m starts at 0)
    v = beta2 * v + (1 - beta2) * g^2            running mean of its square         (v starts at 0)
    m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)     bias correction: m and v start at 0, so early
                                                              averages are too small by exactly those factors
    p = p - lr * m_hat / (sqrt(v_hat) + eps)

The step is computed as PyTorch computes it, lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps),
so float64 results agree to rounding error.
"""

import math

from minigrad.autograd.mode import no_grad
from minigrad.optim.optimizer import Optimizer


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(f"Adam: lr, eps and weight_decay must be >= 0, got lr={lr}, eps={eps}, "
                             f"weight_decay={weight_decay}")
        if not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError(f"Adam: betas must lie in [0, 1), got {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    @no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for parameter in group["params"]:
                if parameter.grad is None:
                    continue
                grad = parameter.grad.data
                if group["weight_decay"] != 0:
                    grad = grad + group["weight_decay"] * parameter.data
                state = self.state.get(parameter)
                if state is None:
                    xp = parameter.xp
                    state = self.state[parameter] = {"step": 0,
                                                     "exp_avg": xp.zeros_like(parameter.data),
                                                     "exp_avg_sq": xp.zeros_like(parameter.data)}
                state["step"] += 1
                step = state["step"]
                state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * grad
                state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad
                step_size = group["lr"] / (1 - beta1 ** step)
                denominator = (parameter.xp.sqrt(state["exp_avg_sq"]) / math.sqrt(1 - beta2 ** step)
                               + group["eps"])
                parameter.data -= step_size * state["exp_avg"] / denominator
