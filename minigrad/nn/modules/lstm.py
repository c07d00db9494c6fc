"""Long short-term memory: ``LSTMCell`` (one step, as ``torch.nn.LSTMCell``), ``LayerNormLSTMCell`` (the
layer-normalized LSTM of the paper's experiments) and ``LSTM`` (a stack of LSTM layers over a sequence, as
``torch.nn.LSTM``, with its parameter names, gate order i, f, g, o and ``batch_first``).

Each step is one fused graph node (:mod:`minigrad.nn.ops.lstm`, where the backward is derived).
"""

import minigrad
from minigrad.creation import ones, zeros
from minigrad.nn import functional as F
from minigrad.nn import init, validation
from minigrad.nn.modules.module import Module, Parameter


def _lstm_parameters(module, suffix, input_size, hidden_size, bias):
    """weight_ih (4H, I), weight_hh (4H, H) and, with bias, bias_ih and bias_hh (4H,), all U(-1/sqrt(H), 1/sqrt(H))."""
    names = [f"weight_ih{suffix}", f"weight_hh{suffix}"]
    setattr(module, names[0], Parameter(zeros(4 * hidden_size, input_size)))
    setattr(module, names[1], Parameter(zeros(4 * hidden_size, hidden_size)))
    for name in (f"bias_ih{suffix}", f"bias_hh{suffix}"):
        module.register_parameter(name, Parameter(zeros(4 * hidden_size)) if bias else None)
        names.append(name)
    for name in names:
        if getattr(module, name) is not None:
            init.uniform_fan_in_(getattr(module, name), hidden_size)


class LSTMCell(Module):
    """(h', c') = LSTMCell(input_size, hidden_size)(x, (h, c)): one LSTM step, PyTorch's ``nn.LSTMCell``.

    x is (B, input_size) or unbatched (input_size,); h and c have the matching shape, and ``hx=None`` means zeros.
    Parameters ``weight_ih`` (4H, I), ``weight_hh`` (4H, H), ``bias_ih`` and ``bias_hh`` (4H,), the gates stacked
    in the order (i, f, g, o), all drawn from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
    """

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        _lstm_parameters(self, "", self.input_size, self.hidden_size, bias)

    def forward(self, x, hx=None):
        return F.lstm_cell(x, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + (", bias=False" if self.bias_ih is None else "")


class LayerNormLSTMCell(Module):
    """The layer-normalized LSTM step of Ba, Kiros and Hinton (2016, supplement), returning (h', c'):

        a  = LN(W_hh h; norm_hh.weight) + LN(W_ih x; norm_ih.weight) + bias      split into (i, f, g, o)
        c' = sigmoid(a_f) c + sigmoid(a_i) tanh(a_g)
        h' = sigmoid(a_o) tanh(LN(c'; norm_c.weight, norm_c.bias))

    The input and recurrent contributions are normalized separately over all 4H gate inputs, as in the paper's
    experiments. Gains start at 1, shifts at 0; weights start like LSTMCell's. The LN of W_hh h with h = 0 (the
    default initial state) normalizes zeros, which eps > 0 keeps finite (see ``LayerNormRNNCell``).
    """

    def __init__(self, input_size, hidden_size, bias=True, eps=1e-5):
        super().__init__()
        self.input_size, self.hidden_size, self.eps = int(input_size), int(hidden_size), eps
        gates = 4 * self.hidden_size
        self.weight_ih = Parameter(zeros(gates, self.input_size))
        self.weight_hh = Parameter(zeros(gates, self.hidden_size))
        init.uniform_fan_in_(self.weight_ih, self.hidden_size)
        init.uniform_fan_in_(self.weight_hh, self.hidden_size)
        self.norm_ih = _Gain(gates)
        self.norm_hh = _Gain(gates)
        self.norm_c = _Gain(self.hidden_size, shift=True)
        self.register_parameter("bias", Parameter(zeros(gates)) if bias else None)

    def forward(self, x, hx=None):
        return F.layer_norm_lstm_cell(x, hx, self.weight_ih, self.weight_hh, self.norm_ih.weight,
                                      self.norm_hh.weight, self.bias, self.norm_c.weight, self.norm_c.bias, self.eps)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, eps={self.eps}" + (", bias=False" if self.bias is None else "")


class _Gain(Module):
    """The gain (and shift) of one of the cell's layer normalizations, named like a LayerNorm's (weight, bias), so
    the state_dict reads norm_ih.weight, norm_c.bias, ... The normalization itself runs inside the fused op."""

    def __init__(self, size, shift=False):
        super().__init__()
        self.weight = Parameter(ones(size))
        self.register_parameter("bias", Parameter(zeros(size)) if shift else None)


class LSTM(Module):
    """``output, (h_n, c_n) = LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False)(x, hx)``.

    As ``torch.nn.LSTM`` (no dropout, bidirectional or proj_size): x is (T, B, I), or (B, T, I) with
    ``batch_first=True``, or unbatched (T, I); hx = (h_0, c_0), each (num_layers, B, H) (or (num_layers, H)
    unbatched), None for zeros. ``output`` holds the last layer's h at every step, in x's layout; h_n and c_n the
    last step's states of every layer. Layer k's parameters are ``weight_ih_l{k}``, ``weight_hh_l{k}``,
    ``bias_ih_l{k}``, ``bias_hh_l{k}``, shaped and initialized as LSTMCell's.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        if self.num_layers < 1:
            raise ValueError(f"LSTM: num_layers must be at least 1, got {num_layers}")
        self.bias, self.batch_first = bias, batch_first
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else self.hidden_size
            _lstm_parameters(self, f"_l{layer}", layer_input, self.hidden_size, bias)

    def forward(self, x, hx=None):
        validation.require_tensor("LSTM", x)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(f"LSTM: expected an input of shape (T, B, {self.input_size}) "
                             f"({'(B, T, ...)' if self.batch_first else 'time-major'}) or unbatched "
                             f"(T, {self.input_size}), got {x.shape}")
        batched = x.ndim == 3
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        layer_input = [x[step] for step in range(x.shape[0])]
        last_hidden, last_cell = [], []
        for layer in range(self.num_layers):
            state = None if hx is None else (hx[0][layer], hx[1][layer])
            parameters = [getattr(self, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh", "bias_ih",
                                                                         "bias_hh")]
            outputs = []
            for x_t in layer_input:
                state = F.lstm_cell(x_t, state, *parameters)
                outputs.append(state[0])
            layer_input = outputs
            last_hidden.append(state[0])
            last_cell.append(state[1])
        output = minigrad.stack(layer_input, axis=0)
        if batched and self.batch_first:
            output = output.transpose(0, 1)
        return output, (minigrad.stack(last_hidden, axis=0), minigrad.stack(last_cell, axis=0))

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        return text
