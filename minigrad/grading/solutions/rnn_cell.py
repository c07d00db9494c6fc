"""Exercise `rnn_cell`: one step of a tanh recurrent network, forward and backward, backpropagated through time.

An Elman RNN cell maps an input x (B, I) and the previous hidden state h (B, H) to the next hidden state

    a  = x @ weight_ih^T + bias_ih + h @ weight_hh^T + bias_hh          weight_ih (H, I), weight_hh (H, H)
    h' = tanh(a)                                                          bias_ih, bias_hh (H,)

(PyTorch's ``RNNCell``, with its two biases.) Implement ``RNNCell.forward`` (return h', shape (B, H)) and
``RNNCell.backward``, returning ``(grad_x, grad_h, grad_weight_ih, grad_weight_hh, grad_bias_ih,
grad_bias_hh)``, each of its argument's shape.

What makes it tricky: the grader also runs your cell over a sequence, h_t = cell(x_t, h_{t-1}), and
backpropagates a loss on every h_t through time. The engine adds, for each step, the gradient arriving from the
loss and the one arriving from the next step; that only works if your backward returns grad_h (the recurrent
term), or every earlier step loses its gradient. Keep what backward needs on ``ctx``, never on the class: each
step of the sequence has its own ctx. Numerics: compute tanh with ``xp.tanh`` (a formula with exp(2a) overflows
for large a).

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(x)`` (never ``numpy``
directly: the grader also runs your op on a CuPy-like backend, and so do the public checks), keep what backward
needs on ``ctx`` (``ctx.save_for_backward`` or ``ctx.<name> = ...``), and use nothing of minigrad but
``minigrad.Function`` and ``minigrad.get_array_module``. The output keeps the input's dtype.

Check your work with the public checks:  minigrad check rnn_cell.py --assignment rnn_cell
Stuck on the derivation? ``minigrad hint rnn_cell`` prints a hint, one tier at a time (paths, then intermediate
gradients, then the formula); try the derivation again after each.
"""
import minigrad

### BEGIN HINTS
HINTS = {
    1: """\
        Every input reaches L only through the pre-activation a, and a through h' = tanh(a): first find dL/da,
        then send it to each of the six arguments. x and h enter a through a matrix product with a weight; the
        biases are added to every row of the batch, so their gradients sum over it. grad_h is what flows back to
        the previous step.""",
    2: """\
        tanh'(a) = 1 - tanh(a)^2 = 1 - h'^2, so dL/da = grad_output * (1 - h'^2), shape (B, H). For a = x @ W^T,
        dL/dx[b, i] = sum_j dL/da[b, j] * W[j, i] and dL/dW[j, i] = sum_b dL/da[b, j] * x[b, i].""",
    3: """\
        da = grad_output * (1 - h'^2); grad_x = da @ weight_ih; grad_h = da @ weight_hh; grad_weight_ih = da^T @
        x; grad_weight_hh = da^T @ h; grad_bias_ih = grad_bias_hh = da summed over the batch.""",
}
### END HINTS


class RNNCell(minigrad.Function):
    @staticmethod
    def forward(ctx, x, h, weight_ih, weight_hh, bias_ih, bias_hh):
        """h' = tanh(x @ weight_ih^T + bias_ih + h @ weight_hh^T + bias_hh)."""
        ### BEGIN SOLUTION
        xp = minigrad.get_array_module(x)
        hidden = xp.tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)
        ctx.save_for_backward(x, h, weight_ih, weight_hh, hidden)
        return hidden
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_output):
        """Return (grad_x, grad_h, grad_weight_ih, grad_weight_hh, grad_bias_ih, grad_bias_hh)."""
        ### BEGIN SOLUTION
        x, h, weight_ih, weight_hh, hidden = ctx.saved_tensors
        grad_preactivation = grad_output * (1 - hidden * hidden)
        grad_bias = grad_preactivation.sum(axis=0)
        return (grad_preactivation @ weight_ih, grad_preactivation @ weight_hh, grad_preactivation.T @ x,
                grad_preactivation.T @ h, grad_bias, grad_bias.copy())
        ### END SOLUTION
