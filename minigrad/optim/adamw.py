"""AdamW (Loshchilov and Hutter, 2019), torch.optim.AdamW's update (without amsgrad).

Adam with *decoupled* weight decay: instead of adding weight_decay * p to the gradient, where Adam's division by
sqrt(v) would rescale it per element, the parameter itself shrinks by the same factor everywhere before the Adam
step:

    p = p * (1 - lr * weight_decay)
    p = p - lr * m_hat / (sqrt(v_hat) + eps)      (Adam's step on the raw gradient, see ``adam.py``)

PyTorch's default weight_decay is 1e-2 for AdamW (0 for Adam).
"""

from minigrad.optim.adam import Adam


class AdamW(Adam):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    @staticmethod
    def _decayed_gradient(parameter, group):
        """AdamW's weight decay: the parameter shrinks, and the Adam step uses the raw gradient."""
        parameter.data *= 1 - group["lr"] * group["weight_decay"]
        return parameter.grad.data
