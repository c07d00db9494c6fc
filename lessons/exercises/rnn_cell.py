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


class RNNCell(minigrad.Function):
    @staticmethod
    def forward(ctx, x, h, weight_ih, weight_hh, bias_ih, bias_hh):
        """h' = tanh(x @ weight_ih^T + bias_ih + h @ weight_hh^T + bias_hh)."""
        # YOUR CODE HERE
        raise NotImplementedError("rnn_cell: RNNCell.forward is not implemented yet")

    @staticmethod
    def backward(ctx, grad_output):
        """Return (grad_x, grad_h, grad_weight_ih, grad_weight_hh, grad_bias_ih, grad_bias_hh)."""
        # YOUR CODE HERE
        raise NotImplementedError("rnn_cell: RNNCell.backward is not implemented yet")
