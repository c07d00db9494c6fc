"""Module mechanics: registration by assignment, state_dict and load_state_dict, modes, moving and converting,
printing, initialization."""

import copy
import subprocess
import sys

import numpy
import pytest
import torch

import minigrad
from minigrad import nn
from tests.helpers import assert_close, host


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(3, 4)
        self.norm = nn.BatchNorm1d(4)
        self.scale = nn.Parameter(minigrad.ones(4))
        self.note = "plain attributes are not registered"

    def forward(self, x):
        return self.norm(self.hidden(x)) * self.scale


def test_import_minigrad_does_not_import_the_layers():
    code = ("import sys, minigrad; assert 'minigrad.nn' not in sys.modules and 'minigrad.optim' not in sys.modules; "
            "assert minigrad.nn.Linear and minigrad.optim.SGD and minigrad.data.BatchIterator; print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        minigrad.nonexistent


def test_registration_by_assignment():
    model = TwoLayer()
    assert [name for name, _ in model.named_parameters()] == ["scale", "hidden.weight", "hidden.bias",
                                                              "norm.weight", "norm.bias"]
    assert [name for name, _ in model.named_buffers()] == ["norm.running_mean", "norm.running_var",
                                                           "norm.num_batches_tracked"]
    assert [name for name, _ in model.named_children()] == ["hidden", "norm"]
    assert list(model.children()) == [model.hidden, model.norm]
    assert len(list(model.modules())) == 3
    assert model.note == "plain attributes are not registered"
    assert all(p.requires_grad and isinstance(p, nn.Parameter) for p in model.parameters())


def test_state_dict_keys_are_pytorch_keys():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.LayerNorm(4), nn.Linear(4, 2, bias=False))
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                                    torch.nn.LayerNorm(4), torch.nn.Linear(4, 2, bias=False))
    assert list(model.state_dict()) == list(reference.state_dict())
    assert list(nn.RNNCell(2, 3).state_dict()) == list(torch.nn.RNNCell(2, 3).state_dict())
    model.load_state_dict({key: value.numpy() for key, value in reference.state_dict().items()})
    for key, value in reference.state_dict().items():
        assert_close(model.state_dict()[key], host(value), atol=0)


def test_shared_parameters_appear_once():
    layer = nn.Linear(3, 3)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_load_state_dict_accepts_arrays_and_tensors_and_copies_them():
    layer = nn.Linear(2, 3)
    weight = numpy.arange(6.0).reshape(3, 2)
    layer.load_state_dict({"weight": weight, "bias": minigrad.tensor([1.0, 2.0, 3.0], dtype="float64")})
    assert layer.weight.dtype == numpy.float32  # converted to the parameter's dtype
    assert_close(layer.weight, weight, atol=0)
    assert_close(layer.bias, [1.0, 2.0, 3.0], atol=0)
    weight[0, 0] = 100.0  # a copy was made: changing the source changes nothing
    assert layer.weight.data[0, 0] == 0.0


@pytest.mark.parametrize("change, fragment", [
    (lambda s: s.pop("bias"), "missing key(s) 'bias'"),
    (lambda s: s.update(extra=numpy.zeros(2)), "unexpected key(s) 'extra'"),
    (lambda s: s.update(weight=numpy.zeros((2, 3))), "size mismatch for 'weight'"),
])
def test_load_state_dict_errors_name_the_key_and_change_nothing(change, fragment):
    layer = nn.Linear(2, 3)
    before = {key: value.numpy().copy() for key, value in layer.state_dict().items()}
    state = {key: numpy.ones(value.shape) for key, value in layer.state_dict().items()}
    change(state)
    with pytest.raises(RuntimeError) as raised:
        layer.load_state_dict(state)
    assert fragment in str(raised.value)
    for key, value in layer.state_dict().items():
        numpy.testing.assert_array_equal(value.numpy(), before[key])


def test_load_state_dict_non_strict_reports_keys():
    layer = nn.Linear(2, 3)
    result = layer.load_state_dict({"weight": numpy.zeros((3, 2)), "extra": 1.0}, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    assert float(layer.weight.data.sum()) == 0.0


def test_state_dict_shares_memory_and_snapshot_is_a_copy():
    layer = nn.BatchNorm1d(2)
    shared = layer.state_dict()["running_mean"]
    layer(minigrad.randn(4, 2) + 5)
    assert_close(shared, layer.running_mean, atol=0)


def test_gradcheck_restores_a_training_batch_norm_between_calls():
    """gradcheck calls the module many times; its state_dict snapshot keeps the running statistics fixed."""
    minigrad.set_default_dtype("float64")
    layer = nn.BatchNorm1d(3)
    x = minigrad.randn(5, 3, 2, requires_grad=True)
    assert minigrad.gradcheck(layer, (x,))
    assert layer.num_batches_tracked.item() == 0
    assert_close(layer.running_mean, numpy.zeros(3), atol=0)


def test_train_eval_and_zero_grad():
    model = TwoLayer()
    assert model.training and model.norm.training
    assert model.eval() is model and not model.norm.training
    model.train()
    assert model.hidden.training
    model(minigrad.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert type(model.hidden.weight.grad) is minigrad.Tensor  # a gradient is a plain Tensor, not a Parameter
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_double_float_and_to():
    model = TwoLayer()
    parameter = model.hidden.weight
    model.double()
    assert model.hidden.weight is parameter and parameter.dtype == numpy.float64
    assert model.norm.running_var.dtype == numpy.float64
    assert model.norm.num_batches_tracked.dtype == numpy.int64  # integers stay integers
    model.float()
    assert parameter.dtype == numpy.float32
    model(minigrad.randn(4, 3)).sum().backward()
    model.to("strict")
    assert {p.backend for p in model.parameters()} == {"strict"} and parameter.grad.backend == "strict"
    assert model.norm.running_mean.backend == "strict"
    output = model(minigrad.randn(4, 3, backend="strict"))
    assert output.backend == "strict"
    model.to("numpy")
    assert parameter.backend == "numpy"


def _registered(module, name):
    """What the registries hold for `name` (the record that parameters() and state_dict() walk)."""
    for registry in (module._parameters, module._buffers, module._modules):
        if name in registry:
            return registry[name]
    raise KeyError(name)


def test_reading_an_entry_gives_what_the_registries_hold_after_every_kind_of_write():
    model = TwoLayer()
    writes = [
        ("scale", lambda: setattr(model, "scale", nn.Parameter(minigrad.zeros(4)))),  # a new Parameter
        ("scale", lambda: setattr(model, "scale", None)),                                # declared but absent
        ("scale", lambda: setattr(model, "scale", nn.Parameter(minigrad.ones(4)))),
        ("hidden", lambda: setattr(model, "hidden", nn.Linear(3, 4))),                   # a new sub-module
        ("steps", lambda: model.register_buffer("steps", minigrad.zeros(1))),
        ("steps", lambda: setattr(model, "steps", minigrad.ones(1))),                    # a buffer stays a buffer
        ("steps", lambda: setattr(model, "steps", None)),
        ("extra", lambda: model.register_parameter("extra", nn.Parameter(minigrad.ones(2)))),
        ("extra", lambda: model.register_parameter("extra", None)),
        ("extra", lambda: (delattr(model, "extra"), setattr(model, "extra", nn.Linear(1, 1)))),  # now a module
        ("extra", lambda: model.register_buffer("extra", minigrad.ones(3))),            # ... then a buffer
    ]
    for name, write in writes:
        write()
        assert getattr(model, name) is _registered(model, name), name
    assert [key for key in model.state_dict() if key.startswith(("extra", "steps", "scale"))] == ["scale", "extra"]
    del model.extra
    model.extra = 3  # a plain value now: in no registry
    assert model.extra == 3 and "extra" not in model.state_dict()
    del model.scale, model.hidden
    for name in ("scale", "hidden"):
        with pytest.raises(AttributeError, match=name):
            getattr(model, name)
    assert [name for name, _ in model.named_parameters()] == ["norm.weight", "norm.bias"]


def test_an_entry_named_like_a_method_does_not_hide_it_as_in_pytorch():
    ours, theirs = nn.Module(), torch.nn.Module()
    ours.train, theirs.train = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    assert callable(ours.train) and ours.train.__name__ == theirs.train.__name__ == "train"
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["train.weight", "train.bias"]


def test_a_deep_copy_reads_its_own_entries():
    model = TwoLayer()
    twin = copy.deepcopy(model)
    twin.scale = nn.Parameter(minigrad.zeros(4))
    twin.hidden.weight.data[...] = 7
    assert twin.scale is twin._parameters["scale"] and model.scale is model._parameters["scale"]
    assert float(model.scale.data.sum()) == 4 and float(model.hidden.weight.data.max()) < 7
    assert twin.hidden is twin._modules["hidden"] and twin.hidden is not model.hidden


def test_writes_to_the_registries_themselves_are_read_as_in_pytorch():
    """Layer surgery on a PyTorch model writes its registries directly; reads, forward, parameters() and
    state_dict() must all follow, in minigrad as in PyTorch."""
    for library, ones in ((nn, lambda: minigrad.ones(1, 2)), (torch.nn, lambda: torch.ones(1, 2))):
        class Net(library.Module):
            def __init__(self):
                super().__init__()
                self.fc = library.Linear(2, 2)
                self.scale = library.Parameter(ones()[0])
                self.register_buffer("steps", ones()[0])

            def forward(self, x):
                return self.fc(x) * self.scale

        net, layer = Net(), library.Linear(2, 2)
        net.fc  # read once through the class before the surgery
        net._modules["fc"] = layer
        net(ones()).sum().backward()
        assert net.fc is layer and layer.weight.grad is not None and next(net.fc.parameters()) is layer.weight
        scale = library.Parameter(ones()[0] * 3)
        net._parameters["scale"] = scale
        net._buffers["steps"] = ones()[0] * 2
        assert net.scale is scale and float(net.steps.sum()) == 4
        assert float(net.state_dict()["steps"].sum()) == 4
        del net._parameters["scale"]
        net._modules.clear()
        for name in ("scale", "fc"):
            with pytest.raises(AttributeError):
                getattr(net, name)
        twin = copy.copy(Net())  # a shallow copy shares the registries, as in PyTorch: reads follow either one
        original = copy.copy(twin)
        twin.fc = library.Linear(2, 2)
        assert original.fc is twin.fc is original._modules["fc"]
        library.Module.__init__(twin)  # registries anew: nothing registered is readable
        with pytest.raises(AttributeError):
            twin.fc


def test_a_subclass_with_its_own_getattr_sees_every_read():
    class Counted(nn.Linear):
        reads = []

        def __getattr__(self, name):
            Counted.reads.append(name)
            return super().__getattr__(name)

    nn.Linear(2, 2).weight  # the plain class reads through the quick path
    layer = Counted(2, 3)
    Counted.reads.clear()
    assert layer.weight is layer._parameters["weight"] and layer.bias is layer._parameters["bias"]
    with pytest.raises(AttributeError):
        layer.missing
    assert Counted.reads == ["weight", "bias", "missing"]


def test_assigning_a_plain_tensor_to_a_parameter_is_refused():
    layer = nn.Linear(2, 3)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        layer.weight = layer.weight * 2
    layer.bias = None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        class Forgetful(nn.Module):
            def __init__(self):
                self.layer = nn.Linear(2, 2)
        Forgetful()


def test_repr_reads_like_pytorch():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.LayerNorm(4), nn.Tanh())
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                                    torch.nn.LayerNorm(4), torch.nn.Tanh())
    assert repr(model) == repr(reference)
    assert repr(nn.RNNCell(2, 3, nonlinearity="relu")) == repr(torch.nn.RNNCell(2, 3, nonlinearity="relu"))
    assert repr(nn.RNNCell(2, 3, bias=False)) == repr(torch.nn.RNNCell(2, 3, bias=False))
    assert "mode=separate" in repr(nn.LayerNormRNNCell(2, 3, mode="separate"))
    assert repr(nn.Linear(1, 1).weight).startswith("Parameter containing:\ntensor(")


def test_sequential_indexing():
    first, second = nn.Linear(2, 3), nn.ReLU()
    model = nn.Sequential(first, second)
    assert model[0] is first and model[-1] is second and len(model) == 2 and list(model) == [first, second]
    assert model[:1][0] is first
    with pytest.raises(TypeError, match="Modules"):
        model.append(lambda x: x)


@pytest.mark.parametrize("make, fan_in", [(lambda: nn.Linear(50, 400), 50),
                                          (lambda: nn.RNNCell(10, 200), 200)])
def test_initialization_bounds_and_reproducibility(make, fan_in):
    minigrad.manual_seed(3)
    first = make()
    minigrad.manual_seed(3)
    second = make()
    bound = 1 / numpy.sqrt(fan_in)
    for (name, a), (_, b) in zip(first.named_parameters(), second.named_parameters()):
        values = a.detach().numpy()
        assert_close(a.detach(), b.detach(), atol=0, what=name)
        assert values.min() >= -bound and values.max() <= bound
        if values.size > 1000:  # U(-bound, bound) has standard deviation bound / sqrt(3)
            assert abs(values.std() - bound / numpy.sqrt(3)) < 0.05 * bound
    third = make()  # without reseeding, the generator has moved on
    assert not numpy.array_equal(next(third.parameters()).detach().numpy(),
                                 next(first.parameters()).detach().numpy())


def test_normalization_layers_start_at_identity():
    layer_norm, batch_norm = nn.LayerNorm((2, 3)), nn.BatchNorm1d(4)
    assert_close(layer_norm.weight.detach(), numpy.ones((2, 3)), atol=0)
    assert_close(layer_norm.bias.detach(), numpy.zeros((2, 3)), atol=0)
    assert_close(batch_norm.running_var, numpy.ones(4), atol=0)
    assert batch_norm.num_batches_tracked.item() == 0
    assert nn.LayerNorm(3, elementwise_affine=False).weight is None
    assert nn.LayerNorm(3, bias=False).bias is None and nn.LayerNorm(3, bias=False).weight is not None
    assert nn.BatchNorm1d(3, track_running_stats=False).running_mean is None
    assert list(nn.BatchNorm1d(3, affine=False, track_running_stats=False).state_dict()) == []


def test_orthogonal_init():
    weight = minigrad.zeros(5, 5, dtype="float64")
    nn.init.orthogonal_(weight, gain=3.0)
    assert_close(weight.numpy() @ weight.numpy().T, 9 * numpy.eye(5), atol=1e-12)
    wide = nn.init.orthogonal_(minigrad.zeros(3, 6, dtype="float64"))
    assert_close(wide.numpy() @ wide.numpy().T, numpy.eye(3), atol=1e-12)
