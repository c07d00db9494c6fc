"""The benchmark's workloads, each written once per engine so that every engine does the same work.

A *case* is one workload at one size (``layernorm/4096x1024``). Its *contenders* map an engine's name to a setup
function that builds the inputs and returns the zero-argument call to time: forward plus backward (plus the
optimizer step where the workload is a training step). Where minigrad and PyTorch share an API (tensors with
``.grad`` and ``.backward``, ``nn.functional``), both run the same body.

Gradients are cleared inside each call, for every engine alike, except in the *accumulating* cases, where they
add up in ``.grad`` from call to call, as they do in a training loop that accumulates over several batches (or
that never clears an input's gradient): that path adds into an existing gradient instead of storing a new one.
The *loaded* cases repeat some workloads with a CPU-bound process on every core (:mod:`minigrad.bench.load`).
"""

import numpy

FLOAT = numpy.float32


LOADED_SUFFIX = ", loaded machine"


class Case:
    def __init__(self, workload, size, contenders, ops_per_call=1, elements=None, note="", loaded=False):
        self.workload = workload
        self.size = size
        self.contenders = contenders          # name -> setup() -> call()
        self.ops_per_call = ops_per_call      # to report time per op for the engine-overhead chain
        self.elements = elements              # for the memory-bandwidth bound of LayerNorm/BatchNorm
        self.note = note
        self.loaded = loaded                  # timed with a CPU-bound process on every core

    def under_load(self):
        """The same case, timed with a CPU-bound helper process on every core."""
        return Case(self.workload + LOADED_SUFFIX, self.size, self.contenders, self.ops_per_call, self.elements,
                    self.note, loaded=True)

    @property
    def idle_id(self):
        """For a loaded case, the id of the same case on the idle machine."""
        return f"{self.workload[:-len(LOADED_SUFFIX)] if self.loaded else self.workload}/{self.size}"

    @property
    def id(self):
        return f"{self.workload}/{self.size}"


def _available(module_name):
    try:
        __import__(module_name)
    except ImportError:
        return False
    return True


# --- 1. engine overhead: a chain of tiny elementwise ops -------------------------------------------------------

CHAIN_LENGTH = 1000  # ops in the chain: 250 rounds of (mul, add, tanh, sub), then one sum


def _tensor_chain(x):
    """The chain on a leaf tensor with ``.grad``, ``.tanh()`` and ``.sum().backward()``: minigrad's and PyTorch's."""
    def call():
        x.grad = None
        y = x
        for _ in range(CHAIN_LENGTH // 4):
            y = (y * 0.9 + 0.1).tanh() - 0.01
        y.sum().backward()
    return call


def _chain_minigrad():
    import minigrad
    return _tensor_chain(minigrad.tensor(numpy.linspace(0.1, 0.8, 8, dtype=FLOAT), requires_grad=True))


def _chain_torch():
    import torch
    return _tensor_chain(torch.linspace(0.1, 0.8, 8, dtype=torch.float32, requires_grad=True))


def _chain_autograd():
    import autograd
    import autograd.numpy as anp

    def chain(x):
        y = x
        for _ in range(CHAIN_LENGTH // 4):
            y = anp.tanh(y * 0.9 + 0.1) - 0.01
        return anp.sum(y)
    gradient = autograd.grad(chain)
    x = numpy.linspace(0.1, 0.8, 8, dtype=FLOAT)
    return lambda: gradient(x)


def _chain_mygrad():
    import mygrad
    x = mygrad.tensor(numpy.linspace(0.1, 0.8, 8, dtype=FLOAT))

    def call():
        y = x
        for _ in range(CHAIN_LENGTH // 4):
            y = mygrad.tanh(y * 0.9 + 0.1) - 0.01
        mygrad.sum(y).backward()
    return call


def _chain_micrograd():
    # micrograd has scalars only and no tanh: the same chain on one scalar with relu in place of tanh. Its
    # recursive topological sort needs a higher recursion limit for a chain this long.
    import sys
    from micrograd.engine import Value
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * CHAIN_LENGTH))

    def call():
        x = Value(0.5)
        y = x
        for _ in range(CHAIN_LENGTH // 4):
            y = (y * 0.9 + 0.1).relu() - 0.01
        y.backward()
    return call


def engine_overhead_cases(quick):
    contenders = {"minigrad": _chain_minigrad, "torch": _chain_torch}
    for name, setup in (("autograd", _chain_autograd), ("mygrad", _chain_mygrad),
                        ("micrograd", _chain_micrograd)):
        if _available(name):
            contenders[name] = setup
    return [Case("engine overhead (per op)", "1000 ops x 8 elements", contenders, ops_per_call=CHAIN_LENGTH + 1,
                 note="micrograd: one scalar, relu for tanh")]


# --- 2 and 3. LayerNorm and BatchNorm1d forward + backward -----------------------------------------------------

def _normalization_inputs(rows, features):
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((rows, features)).astype(FLOAT)
    grad_output = rng.standard_normal((rows, features)).astype(FLOAT)
    weight = (1 + 0.1 * rng.standard_normal(features)).astype(FLOAT)
    bias = (0.1 * rng.standard_normal(features)).astype(FLOAT)
    return x, grad_output, weight, bias


def _normalization_call(F, kind, tensors, running_mean, running_var, accumulate):
    """forward + backward of F.layer_norm or F.batch_norm (training): the same body for minigrad and PyTorch,
    whose ``nn.functional`` signatures agree."""
    x, grad_output, weight, bias = tensors
    features = x.shape[-1]

    def call():
        if not accumulate:
            x.grad = weight.grad = bias.grad = None
        if kind == "layernorm":
            out = F.layer_norm(x, (features,), weight, bias)
        else:
            out = F.batch_norm(x, running_mean, running_var, weight, bias, training=True)
        out.backward(grad_output)
    call.tensors = tensors  # for the tests: the inputs whose .grad the calls fill
    return call


def _minigrad_norm(kind, rows, features, composed, accumulate=False):
    def setup():
        import minigrad
        from minigrad.nn import composed as composed_ops
        from minigrad.nn import functional
        tensors = [minigrad.tensor(a) for a in _normalization_inputs(rows, features)]
        for index in (0, 2, 3):  # x, weight, bias
            tensors[index].requires_grad = True
        return _normalization_call(composed_ops if composed else functional, kind, tensors,
                                   minigrad.zeros(features), minigrad.ones(features), accumulate)
    return setup


def _torch_norm(kind, rows, features, accumulate=False):
    def setup():
        import torch
        import torch.nn.functional as functional
        tensors = [torch.tensor(a) for a in _normalization_inputs(rows, features)]
        for index in (0, 2, 3):
            tensors[index].requires_grad_(True)
        return _normalization_call(functional, kind, tensors, torch.zeros(features), torch.ones(features),
                                   accumulate)
    return setup


def normalization_cases(kind, quick, sizes=None, accumulate=False):
    """LayerNorm or BatchNorm1d forward + backward at each size; with `accumulate`, the gradients of x, gamma and
    beta add up across calls (no composed twin: it accumulates through the same engine path)."""
    label = "LayerNorm fwd+bwd" if kind == "layernorm" else "BatchNorm1d fwd+bwd (train)"
    if accumulate:
        label += ", gradients accumulating"
    sizes = sizes or ([(64, 1024), (4096, 1024)])
    cases = []
    for rows, features in sizes:
        contenders = {"minigrad": _minigrad_norm(kind, rows, features, composed=False, accumulate=accumulate)}
        if not accumulate:
            contenders["minigrad composed"] = _minigrad_norm(kind, rows, features, composed=True)
        contenders["torch"] = _torch_norm(kind, rows, features, accumulate)
        cases.append(Case(label, f"{rows}x{features}", contenders, elements=rows * features))
    return cases


# --- 4. a training step of a separate-LN RNN on the adding problem ---------------------------------------------

RNN_BATCH, RNN_INPUT, RNN_HIDDEN = 32, 2, 128


def _adding_batch(steps):
    rng = numpy.random.default_rng(0)
    values = rng.random((steps, RNN_BATCH))
    markers = numpy.zeros((steps, RNN_BATCH))
    for b in range(RNN_BATCH):
        first, second = rng.choice(steps, size=2, replace=False)
        markers[first, b] = markers[second, b] = 1
    inputs = numpy.stack([values, markers], axis=-1).astype(FLOAT)      # (T, B, 2)
    targets = (values * markers).sum(axis=0, keepdims=True).T.astype(FLOAT)  # (B, 1)
    return inputs, targets


def _flushing_subnormals(call, set_flush_denormal):
    """`call` run with subnormal floats flushed to zero (each engine through its own switch, which sets the same
    CPU flags of this thread), then the setting restored. See :mod:`minigrad.denormals` for why it matters here."""
    from minigrad import get_flush_denormal

    def flushed_call():
        before = get_flush_denormal()  # the CPU's flags, whichever engine set them
        set_flush_denormal(True)
        try:
            call()
        finally:
            set_flush_denormal(before)
    return flushed_call


def rnn_minigrad_model(steps):
    """The minigrad side of the RNN workload: (cell, readout, optimizer, inputs, targets), seeded."""
    import minigrad
    from minigrad import nn, optim
    minigrad.manual_seed(0)
    cell = nn.LayerNormRNNCell(RNN_INPUT, RNN_HIDDEN, mode="separate")
    readout = nn.Linear(RNN_HIDDEN, 1)
    optimizer = optim.Adam(list(cell.parameters()) + list(readout.parameters()), lr=1e-3)
    inputs, targets = (minigrad.tensor(a) for a in _adding_batch(steps))
    return cell, readout, optimizer, inputs, targets


def _rnn_minigrad(steps, flush=False):
    def setup():
        import minigrad
        from minigrad.nn import functional as F
        cell, readout, optimizer, inputs, targets = rnn_minigrad_model(steps)

        def call():
            optimizer.zero_grad()
            h = minigrad.zeros(RNN_BATCH, RNN_HIDDEN)
            for t in range(steps):
                h = cell(inputs[t], h)
            loss = F.mse_loss(readout(h), targets)
            loss.backward()
            optimizer.step()
        return _flushing_subnormals(call, minigrad.set_flush_denormal) if flush else call
    return setup


def _rnn_torch(steps, flush=False):
    def setup():
        import torch
        from torch import nn
        torch.manual_seed(0)

        class SeparateLayerNormRNNCell(nn.Module):
            """minigrad's LayerNormRNNCell(mode="separate"), op for op: h' = tanh(LN(W_hh h; g_hh) + LN(W_ih x; g_ih)
            + b), weights without biases, each LN with a gain and no bias of its own, one shared bias b after."""

            def __init__(self):
                super().__init__()
                self.weight_ih = nn.Parameter(torch.empty(RNN_HIDDEN, RNN_INPUT))
                self.weight_hh = nn.Parameter(torch.empty(RNN_HIDDEN, RNN_HIDDEN))
                bound = RNN_HIDDEN ** -0.5
                nn.init.uniform_(self.weight_ih, -bound, bound)
                nn.init.uniform_(self.weight_hh, -bound, bound)
                self.norm_hh = nn.LayerNorm(RNN_HIDDEN, eps=1e-5, bias=False)
                self.norm_ih = nn.LayerNorm(RNN_HIDDEN, eps=1e-5, bias=False)
                self.bias = nn.Parameter(torch.zeros(RNN_HIDDEN))

            def forward(self, x, h):
                input_term = torch.nn.functional.linear(x, self.weight_ih)
                recurrent_term = torch.nn.functional.linear(h, self.weight_hh)
                summed = self.norm_hh(recurrent_term) + self.norm_ih(input_term)
                return torch.tanh(summed + self.bias)

        cell, readout = SeparateLayerNormRNNCell(), nn.Linear(RNN_HIDDEN, 1)
        optimizer = torch.optim.Adam(list(cell.parameters()) + list(readout.parameters()), lr=1e-3)
        inputs, targets = (torch.tensor(a) for a in _adding_batch(steps))

        def call():
            optimizer.zero_grad()
            h = torch.zeros(RNN_BATCH, RNN_HIDDEN)
            for t in range(steps):
                h = cell(inputs[t], h)
            loss = torch.nn.functional.mse_loss(readout(h), targets)
            loss.backward()
            optimizer.step()
        return _flushing_subnormals(call, torch.set_flush_denormal) if flush else call
    return setup


RNN_WORKLOAD = "separate-LN RNN train step"
RNN_FLUSHED_WORKLOAD = "separate-LN RNN train step, subnormals flushed"


def rnn_cases(quick, lengths=None, flush=False):
    """The RNN step at each length T; with `flush`, the same with subnormal floats flushed to zero in both engines:
    over long sequences the vanishing gradient passes through the subnormal range, where the CPU is slow, so
    the default timings grow faster than T for a reason outside either engine (``python -m
    minigrad.bench.subnormals`` counts them)."""
    lengths = lengths or [50]
    return [Case(RNN_FLUSHED_WORKLOAD if flush else RNN_WORKLOAD, f"T={steps}",
                 {"minigrad": _rnn_minigrad(steps, flush), "torch": _rnn_torch(steps, flush)}) for steps in lengths]


# --- 5. one epoch of a digits MLP with BatchNorm -------------------------------------------------------------

MLP_BATCH = 32


def _digits_arrays():
    from sklearn.datasets import load_digits
    digits = load_digits()
    return (digits.data / 16.0).astype(FLOAT), digits.target.astype(numpy.int64)


def _mlp_minigrad():
    import minigrad
    from minigrad import nn, optim
    from minigrad.nn import functional as F
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.BatchNorm1d(256), nn.ReLU(),
                          nn.Linear(256, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, 10))
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    images, labels = _digits_arrays()
    batches = [(minigrad.tensor(images[i:i + MLP_BATCH]), minigrad.tensor(labels[i:i + MLP_BATCH]))
               for i in range(0, len(images) - MLP_BATCH + 1, MLP_BATCH)]

    def call():
        for x, y in batches:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
    return call


def _mlp_torch():
    import torch
    from torch import nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.BatchNorm1d(256), nn.ReLU(),
                          nn.Linear(256, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images, labels = _digits_arrays()
    batches = [(torch.tensor(images[i:i + MLP_BATCH]), torch.tensor(labels[i:i + MLP_BATCH]))
               for i in range(0, len(images) - MLP_BATCH + 1, MLP_BATCH)]

    def call():
        for x, y in batches:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    return call


def mlp_cases(quick):
    return [Case("digits MLP epoch (BN, batch 32)", "64-256-256-10", {"minigrad": _mlp_minigrad, "torch": _mlp_torch})]


# --- 6. convolution: one 3x3 layer forward and backward -----------------------------------------------------------

CONV_SHAPE = (32, 16, 28, 28)  # N, C, H, W; 32 output channels, 3x3 kernel, padding 1


def _conv_arrays():
    rng = numpy.random.default_rng(0)
    n, channels = CONV_SHAPE[:2]
    return (rng.standard_normal(CONV_SHAPE).astype(FLOAT),
            0.1 * rng.standard_normal((32, channels, 3, 3)).astype(FLOAT),
            rng.standard_normal(32).astype(FLOAT), rng.standard_normal((n, 32) + CONV_SHAPE[2:]).astype(FLOAT))


def _conv_minigrad():
    import minigrad
    from minigrad.nn import functional as F
    *leaves, upstream = _conv_arrays()
    x, weight, bias = (minigrad.tensor(a, requires_grad=True) for a in leaves)
    upstream = minigrad.tensor(upstream)

    def call():
        for leaf in (x, weight, bias):
            leaf.grad = None
        F.conv2d(x, weight, bias, padding=1).backward(upstream)
    return call


def _conv_torch():
    import torch
    x, weight, bias, upstream = (torch.tensor(a) for a in _conv_arrays())
    for leaf in (x, weight, bias):
        leaf.requires_grad_(True)

    def call():
        for leaf in (x, weight, bias):
            leaf.grad = None
        torch.nn.functional.conv2d(x, weight, bias, padding=1).backward(upstream)
    return call


def conv_cases(quick):
    return [Case("conv2d fwd+bwd (3x3, padding 1)", "32x16x28x28->32",
                 {"minigrad": _conv_minigrad, "torch": _conv_torch})]


# --- 7. one epoch of lesson 13's digits convnet with BatchNorm2d -------------------------------------------------

def _convnet(nn):
    """Lesson 13's network (its BatchNorm form), written once for both engines: their nn modules share the names."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10))


def _convnet_epoch(engine, nn, optimizer_class, cross_entropy, make_tensor):
    engine.manual_seed(0)
    model = _convnet(nn)
    optimizer = optimizer_class(model.parameters(), lr=3e-3)
    images, labels = _digits_arrays()
    images = images.reshape(-1, 1, 8, 8)
    batches = [(make_tensor(images[i:i + MLP_BATCH]), make_tensor(labels[i:i + MLP_BATCH]))
               for i in range(0, len(images) - MLP_BATCH + 1, MLP_BATCH)]

    def call():
        for x, y in batches:
            optimizer.zero_grad()
            cross_entropy(model(x), y).backward()
            optimizer.step()
    return call


def _convnet_minigrad():
    import minigrad
    from minigrad import nn, optim
    from minigrad.nn import functional as F
    return _convnet_epoch(minigrad, nn, optim.Adam, F.cross_entropy, minigrad.tensor)


def _convnet_torch():
    import torch
    return _convnet_epoch(torch, torch.nn, torch.optim.Adam, torch.nn.functional.cross_entropy, torch.tensor)


def convnet_cases(quick):
    return [Case("digits convnet epoch (lesson 13, BN, batch 32)", "8x8 conv 8-16-32",
                 {"minigrad": _convnet_minigrad, "torch": _convnet_torch})]


# --- 8. attention: scaled dot-product attention forward and backward ------------------------------------------

ATTENTION_SHAPE = (8, 4, 128, 64)  # batch, heads, sequence length T, head dim d


def _attention_arrays():
    rng = numpy.random.default_rng(0)
    return [rng.standard_normal(ATTENTION_SHAPE).astype(FLOAT) for _ in range(4)]  # q, k, v and dL/dO


def _attention_call(attention, leaves, upstream):
    """forward + backward of causal attention: the same body for minigrad (fused or composed) and PyTorch."""
    def call():
        for leaf in leaves:
            leaf.grad = None
        attention(*leaves, is_causal=True).backward(upstream)
    return call


def _attention_minigrad(composed):
    def setup():
        import minigrad
        from minigrad.nn import composed as composed_ops
        from minigrad.nn import functional
        *leaves, upstream = (minigrad.tensor(a) for a in _attention_arrays())
        for leaf in leaves:
            leaf.requires_grad = True
        ops = composed_ops if composed else functional
        return _attention_call(ops.scaled_dot_product_attention, leaves, upstream)
    return setup


def _attention_torch():
    import torch
    *leaves, upstream = (torch.tensor(a) for a in _attention_arrays())
    for leaf in leaves:
        leaf.requires_grad_(True)
    return _attention_call(torch.nn.functional.scaled_dot_product_attention, leaves, upstream)


def attention_cases(quick):
    return [Case("causal attention fwd+bwd", "B=8 heads=4 T=128 d=64",
                 {"minigrad": _attention_minigrad(composed=False), "minigrad composed": _attention_minigrad(True),
                  "torch": _attention_torch})]


# --- 10. one training step of a small character transformer ----------------------------------------------------

TRANSFORMER = dict(context_length=64, embed_dim=128, num_heads=4, num_layers=4, norm="pre", norm_layer="layernorm")
TRANSFORMER_BATCH = 32
TRANSFORMER_WORKLOAD = "CharTransformer train step (pre-LN, Adam)"


def _transformer_batch():
    """One fixed batch of (B, T) windows of the character corpus and their next characters, and its vocabulary."""
    from minigrad.data import load_char_corpus
    corpus = load_char_corpus()
    starts = numpy.random.default_rng(0).integers(0, len(corpus.ids) - TRANSFORMER["context_length"] - 1,
                                                  size=TRANSFORMER_BATCH)
    positions = starts[:, None] + numpy.arange(TRANSFORMER["context_length"])[None, :]
    return corpus.ids[positions], corpus.ids[positions + 1], corpus.vocab_size


def _transformer_minigrad_model():
    import minigrad
    from minigrad.models import CharTransformer
    inputs, targets, vocab_size = _transformer_batch()
    minigrad.manual_seed(0)
    return CharTransformer(vocab_size, **TRANSFORMER), inputs, targets


def _transformer_minigrad():
    import minigrad
    from minigrad import optim
    from minigrad.nn import functional as F
    model, inputs, targets = _transformer_minigrad_model()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    inputs, targets = minigrad.tensor(inputs), minigrad.tensor(targets.reshape(-1))

    def call():
        optimizer.zero_grad()
        F.cross_entropy(model(inputs).reshape(-1, model.vocab_size), targets).backward()
        optimizer.step()
    return call


def _transformer_torch():
    import torch
    from minigrad.bench.torch_char_transformer import from_minigrad
    model, inputs, targets = _transformer_minigrad_model()
    twin = from_minigrad(model, dtype=torch.float32)  # the same initial weights
    optimizer = torch.optim.Adam(twin.parameters(), lr=1e-3)
    inputs, targets = torch.tensor(inputs), torch.tensor(targets.reshape(-1))

    def call():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(twin(inputs).reshape(-1, model.vocab_size), targets).backward()
        optimizer.step()
    return call


def transformer_cases(quick):
    size = (f"B={TRANSFORMER_BATCH} T={TRANSFORMER['context_length']} C={TRANSFORMER['embed_dim']} "
            f"{TRANSFORMER['num_layers']} blocks")
    return [Case(TRANSFORMER_WORKLOAD, size, {"minigrad": _transformer_minigrad, "torch": _transformer_torch})]


ACCUMULATING_SIZES = [(4096, 1024)]


def accumulating_cases(quick=False):
    return (normalization_cases("layernorm", quick, ACCUMULATING_SIZES, accumulate=True)
            + normalization_cases("batchnorm", quick, ACCUMULATING_SIZES, accumulate=True))


def loaded_cases(quick=False):
    """The engine overhead, the accumulating LayerNorm and BatchNorm, and the RNN step, each with a CPU-bound
    process on every core (engines interleaved under the same load; the composed twin is left out)."""
    cases = engine_overhead_cases(quick)[:1] + accumulating_cases(quick) + rnn_cases(quick)
    loaded = []
    for case in cases:
        case = case.under_load()
        case.contenders = {name: setup for name, setup in case.contenders.items() if name in ("minigrad", "torch")}
        loaded.append(case)
    return loaded


def all_cases(quick=False):
    return (engine_overhead_cases(quick) + normalization_cases("layernorm", quick)
            + normalization_cases("batchnorm", quick) + accumulating_cases(quick) + rnn_cases(quick)
            + mlp_cases(quick) + conv_cases(quick) + convnet_cases(quick) + attention_cases(quick)
            + transformer_cases(quick)
            + loaded_cases(quick))


def find_case(case_id, quick=False):
    for case in all_cases(quick) + scaling_cases(quick):
        if case.id == case_id:
            return case
    raise KeyError(case_id)


SCALING_SIZES = [(64, 1024), (256, 1024), (1024, 1024), (4096, 1024)]
SCALING_LENGTHS = [50, 100, 200, 400, 800]


def scaling_cases(quick=False):
    """How time grows with size: LayerNorm over rows, the RNN step over T (as it is, and with subnormals flushed)."""
    return (normalization_cases("layernorm", quick, SCALING_SIZES) + rnn_cases(quick, SCALING_LENGTHS)
            + rnn_cases(quick, SCALING_LENGTHS, flush=True))


def last_level_cache_bytes():
    """The largest CPU cache of this machine as Linux reports it, or None where it cannot be read."""
    import glob
    sizes = []
    for path in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*/size"):
        with open(path) as handle:
            text = handle.read().strip()
        units = {"K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30}
        sizes.append(int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text))
    return max(sizes) if sizes else None


def memory_bandwidth_bytes_per_second(repeats=9):
    """Plain copy bandwidth (bytes read + written per second) on arrays far larger than the caches.

    Each array is twice the last-level cache (at least 64 MiB), so the copy streams from and to main memory; on
    a server CPU with a large L3 a 64 MiB copy would measure the cache instead."""
    import time
    cache = last_level_cache_bytes() or 0
    size_bytes = max(64 * 2 ** 20, 2 * cache)
    source = numpy.ones(size_bytes // 4, dtype=FLOAT)
    target = numpy.empty_like(source)
    numpy.copyto(target, source)  # touch the target's pages before timing
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        numpy.copyto(target, source)
        times.append(time.perf_counter() - start)
    return 2 * source.nbytes / float(numpy.median(times))
