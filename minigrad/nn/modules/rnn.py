"""Recurrent layers: ``RNNCell`` (one step), ``LayerNormRNNCell`` (one step with layer normalization, the
paper's section 3.1) and ``RNN`` (any cell unrolled over a sequence).

Sequences are time-major, PyTorch's default layout: an input of shape (T, B, I) is T steps of a (B, I) batch.
"""

import minigrad
from minigrad.creation import zeros
from minigrad.nn import functional as F
from minigrad.nn import init, validation
from minigrad.nn.modules.module import Module, Parameter
from minigrad.nn.modules.normalization import LayerNorm
from minigrad.nn.ops.recurrent import NONLINEARITIES

MODES = ("joint", "separate", "recurrent")


def _check_nonlinearity(layer, nonlinearity):
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"{layer}: unknown nonlinearity {nonlinearity!r}; expected 'tanh' or 'relu'")


class RNNCell(Module):
    """h' = nonlinearity(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh), one fused graph node per step.

    x is (B, input_size) or unbatched (input_size,); h has the matching shape (B, hidden_size) or
    (hidden_size,), and ``hx=None`` means zeros. Every weight and bias is drawn from
    U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh"):
        super().__init__()
        _check_nonlinearity(type(self).__name__, nonlinearity)
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.nonlinearity = nonlinearity
        self.weight_ih = Parameter(zeros(self.hidden_size, self.input_size))
        self.weight_hh = Parameter(zeros(self.hidden_size, self.hidden_size))
        self.register_parameter("bias_ih", Parameter(zeros(self.hidden_size)) if bias else None)
        self.register_parameter("bias_hh", Parameter(zeros(self.hidden_size)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        for parameter in self.parameters():
            init.uniform_fan_in_(parameter, self.hidden_size)

    def forward(self, x, hx=None):
        validation.check_rnn_cell(validation.Described(self), x, hx, self.input_size, self.hidden_size)
        return F.apply_rnn_cell(x, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                                self.nonlinearity)

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias_ih is None:
            text += ", bias=False"
        if self.nonlinearity != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


class LayerNormRNNCell(Module):
    """A vanilla RNN step with layer normalization of the summed inputs (Ba, Kiros and Hinton 2016, sec. 3.1).

    With the input term u = W_xh x and the recurrent term v = W_hh h (weights ``weight_ih`` and ``weight_hh``,
    no biases before normalizing), the three ``mode`` choices are:

    - ``"joint"``, the paper's Eq. 4:       h' = f(LN(v + u; g) + b)
    - ``"separate"``, the paper's experiments: h' = f(LN(v; g_hh) + LN(u; g_ih) + b)
    - ``"recurrent"``, the recurrent term only: h' = f(LN(v; g_hh) + u + b)

    The gains g (``norm.weight``, ``norm_hh.weight``, ``norm_ih.weight``, starting at 1) and the shift b
    (``bias``, starting at 0; ``bias=False`` drops it) are shared by every time step, as in the paper. A step is one
    graph node, :class:`minigrad.nn.ops.recurrent.LayerNormRNNCell`, which runs the normalizations itself with
    those gains; a normalization module replaced or changed (another eps, a bias, another module) is called as it
    is, in a step composed of Linear, the modules, Add and the nonlinearity. A bias
    inside the normalization would be cancelled by the centering or break its invariance to rescaling the
    weights, so the only bias is b, after it. Weights start like RNNCell's.

    Pitfall, zero variance: in "separate" and "recurrent" modes, LN(W_hh h) with h = 0 (the usual initial
    state) normalizes a vector of zeros. Its variance is 0, so the output is 0 / sqrt(eps) = 0, and the gradient
    through that step is multiplied by 1/sqrt(eps) (about 316 for eps = 1e-5). eps must therefore be > 0 (with
    eps = 0 the first step gives 0/0 = nan); a non-zero h0 avoids the case entirely. The same happens in
    "separate" mode for an all-zero input x.
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", mode="joint", eps=1e-5):
        super().__init__()
        _check_nonlinearity(type(self).__name__, nonlinearity)
        if mode not in MODES:
            raise ValueError(f"LayerNormRNNCell: unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.nonlinearity, self.mode, self.eps = nonlinearity, mode, eps
        self.weight_ih = Parameter(zeros(self.hidden_size, self.input_size))
        self.weight_hh = Parameter(zeros(self.hidden_size, self.hidden_size))
        init.uniform_fan_in_(self.weight_ih, self.hidden_size)
        init.uniform_fan_in_(self.weight_hh, self.hidden_size)
        if mode == "joint":
            self.norm = LayerNorm(self.hidden_size, eps=eps, bias=False)
        else:
            self.norm_hh = LayerNorm(self.hidden_size, eps=eps, bias=False)
            if mode == "separate":
                self.norm_ih = LayerNorm(self.hidden_size, eps=eps, bias=False)
        self.register_parameter("bias", Parameter(zeros(self.hidden_size)) if bias else None)

    def forward(self, x, hx=None):
        validation.check_rnn_cell(validation.Described(self), x, hx, self.input_size, self.hidden_size)
        h = F.zeros_state(x, self.hidden_size) if hx is None else hx
        gains = self._own_gains()
        if gains is None:  # a normalization replaced or reconfigured: the step composed of the modules themselves
            return self._composed_step(x, h)
        return F.apply_layer_norm_rnn_cell(x, h, self.weight_ih, self.weight_hh, *gains, self.bias, self.mode,
                                           self.nonlinearity, self.eps)

    def _own_gains(self):
        """(g, g_hh, g_ih) for the one-node step (None for a gain the mode does not use), or None where one of its
        normalizations is no longer the LayerNorm((hidden_size,), eps=self.eps, bias=False) it was built with."""
        mode = self.mode
        norms = (self.norm,) if mode == "joint" else (self.norm_hh, self.norm_ih) if mode == "separate" else (
            self.norm_hh,)
        gains = []
        for norm in norms:
            if type(norm) is not LayerNorm or norm.eps != self.eps or norm.bias is not None:
                return None
            gain = norm.weight
            if gain is None or gain.data.shape != (self.hidden_size,) or norm.normalized_shape != gain.data.shape:
                return None
            gains.append(gain)
        if mode == "joint":
            return gains[0], None, None
        return None, gains[0], gains[1] if mode == "separate" else None

    def _composed_step(self, x, h):
        """The same step as a composition of Linear and the normalization modules, whatever they now are."""
        input_term = F.apply_linear(x, self.weight_ih)  # x and h checked in forward, so their products need none
        recurrent_term = F.apply_linear(h, self.weight_hh)
        if self.mode == "joint":
            summed = self.norm(recurrent_term + input_term)
        elif self.mode == "separate":
            summed = self.norm_hh(recurrent_term) + self.norm_ih(input_term)
        else:
            summed = self.norm_hh(recurrent_term) + input_term
        bias = self.bias
        if bias is not None:
            summed = summed + bias
        return F.tanh(summed) if self.nonlinearity == "tanh" else F.relu(summed)

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}, mode={self.mode}, eps={self.eps}"
        if self.bias is None:
            text += ", bias=False"
        if self.nonlinearity != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


class RNN(Module):
    """Unroll a cell over a time-major sequence: ``output, h_n = RNN(cell)(x, hx=None)``.

    x has shape (T, B, input_size) (or (T, input_size) unbatched); `hx` is the initial state (B, hidden_size),
    None for zeros. ``output`` stacks every hidden state, shape (T, B, hidden_size); ``h_n`` is the last one,
    (B, hidden_size). Any module called as ``cell(x_t, h)`` works, e.g. RNNCell or LayerNormRNNCell; for an LSTM cell
the state is the pair (h, c), ``output`` stacks the h and ``h_n`` is the last pair. The same
    cell (the same parameters) serves every step, so backward through ``output`` is backpropagation through
    time.
    """

    def __init__(self, cell):
        super().__init__()
        if not isinstance(cell, Module):
            raise TypeError(f"RNN takes a cell Module (RNNCell, LayerNormRNNCell, ...), got {type(cell).__name__}")
        self.cell = cell

    def forward(self, x, hx=None):
        validation.require_tensor("RNN", x)
        if x.ndim not in (2, 3) or x.shape[0] == 0:
            raise ValueError(f"RNN: expected a time-major input of shape (T, B, input_size) or (T, input_size) "
                             f"with T >= 1, got {x.shape}")
        h = hx
        hidden_states = []
        for step in range(x.shape[0]):
            h = self.cell(x[step], h)
            hidden_states.append(h[0] if isinstance(h, tuple) else h)  # an LSTM cell's state is (h, c)
        return minigrad.stack(hidden_states, axis=0), h
