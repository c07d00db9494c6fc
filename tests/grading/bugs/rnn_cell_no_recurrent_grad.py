"""Bug: backward returns no gradient for h (the recurrent term), so backpropagation through time stops at every
step."""
import minigrad


class RNNCell(minigrad.Function):
    @staticmethod
    def forward(ctx, x, h, weight_ih, weight_hh, bias_ih, bias_hh):
        xp = minigrad.get_array_module(x)
        hidden = xp.tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)
        ctx.save_for_backward(x, h, weight_ih, hidden)
        return hidden

    @staticmethod
    def backward(ctx, grad_output):
        x, h, weight_ih, hidden = ctx.saved_tensors
        grad_preactivation = grad_output * (1 - hidden * hidden)
        grad_bias = grad_preactivation.sum(axis=0)
        return (grad_preactivation @ weight_ih, None, grad_preactivation.T @ x, grad_preactivation.T @ h,
                grad_bias, grad_bias)
