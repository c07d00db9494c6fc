"""Exercise `rnn_cell`: one step of a tanh recurrent network, forward and backward, backpropagated through time.

An Elman RNN cell maps an input x (B, I) and the previous hidden state h (B, H) to the next hidden state

    a  = x @ weight_ih^T + bias_ih + h @ weight_hh^T + bias_hh          weight_ih (H, I), weight_hh (H, H)
    h' = tanh(a)                                                          bias_ih, bias_hh (H,)

(PyTorch's ``RNNCell``, with its two biases.) Implement ``RNNCell.forward`` and ``RNNCell.backward``, returning
``(grad_x, grad_h, grad_weight_ih, grad_weight_hh, grad_bias_ih, grad_bias_hh)``. With tanh'(a) = 1 - h'^2,

    da             = dh' * (1 - h'^2)
    dx             = da @ weight_ih              dh             = da @ weight_hh
    dweight_ih     = da^T @ x                    dweight_hh     = da^T @ h
    dbias_ih       = dbias_hh = sum of da over the batch

The grader also runs your cell over a sequence, h_t = cell(x_t, h_{t-1}), and backpropagates a loss on every
h_t through time. The engine sums, for each step, the gradient arriving from the loss and the one arriving from
the next step; your backward must return dh (the recurrent term), or every earlier step loses its gradient. Keep
what backward needs on ``ctx``, never on the class: each step of the sequence has its own ctx.

Numerics: compute tanh with ``xp.tanh`` (a formula with exp(2a) overflows for large a).

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(x)`` (never ``numpy``
directly: the grader also runs your op on a CuPy-like backend), and use nothing of minigrad but
``minigrad.Function`` and ``minigrad.get_array_module``. The output keeps the inputs' dtype.

Check your work with the public checks:  minigrad check rnn_cell.py --assignment rnn_cell
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
