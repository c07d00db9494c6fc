"""SGD, Adam, AdamW and RMSprop against torch.optim over ten steps in float64, on a loss whose gradients change
every step; the learning-rate schedules against torch.optim.lr_scheduler step by step."""

import numpy
import pytest
import torch

import minigrad
from minigrad import optim
from tests.helpers import assert_close

SHAPES = [(3, 4), (4,)]


def run_ours(make_optimizer, steps=10):
    rng = numpy.random.default_rng(0)
    parameters = [minigrad.tensor(rng.standard_normal(shape), dtype="float64", requires_grad=True)
                  for shape in SHAPES]
    optimizer = make_optimizer(parameters)
    data = numpy.random.default_rng(1).standard_normal((steps, 5, 3))
    for x in data:
        optimizer.zero_grad()
        hidden = (minigrad.tensor(x) @ parameters[0] + parameters[1]).tanh()
        (hidden * hidden).sum().backward()
        optimizer.step()
    return parameters, optimizer


def run_torch(make_optimizer, steps=10):
    rng = numpy.random.default_rng(0)
    parameters = [torch.tensor(rng.standard_normal(shape), requires_grad=True) for shape in SHAPES]
    optimizer = make_optimizer(parameters)
    data = numpy.random.default_rng(1).standard_normal((steps, 5, 3))
    for x in data:
        optimizer.zero_grad()
        hidden = torch.tanh(torch.tensor(x) @ parameters[0] + parameters[1])
        (hidden * hidden).sum().backward()
        optimizer.step()
    return parameters


SGD_SETTINGS = [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.3),
                dict(lr=0.05, weight_decay=0.1), dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)]
ADAM_SETTINGS = [dict(), dict(lr=0.01), dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6), dict(lr=0.01, weight_decay=0.1)]


def label(settings):
    return ",".join(f"{key}={value}" for key, value in settings.items()) or "defaults"


ADAMW_SETTINGS = [dict(), dict(lr=0.01), dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.3)]
RMSPROP_SETTINGS = [dict(), dict(lr=0.005, alpha=0.9), dict(lr=0.01, momentum=0.9), dict(lr=0.01, centered=True),
                    dict(lr=0.005, momentum=0.5, centered=True, weight_decay=0.1, eps=1e-6)]
CASES = [(name, settings) for name, table in [("SGD", SGD_SETTINGS), ("Adam", ADAM_SETTINGS),
                                              ("AdamW", ADAMW_SETTINGS), ("RMSprop", RMSPROP_SETTINGS)]
         for settings in table]


@pytest.mark.parametrize(("name", "settings"), CASES, ids=[f"{name}-{label(settings)}" for name, settings in CASES])
def test_optimizer_matches_torch(name, settings):
    ours, _ = run_ours(lambda p: getattr(optim, name)(p, **settings))
    theirs = run_torch(lambda p: getattr(torch.optim, name)(p, **settings))
    for a, b in zip(ours, theirs):
        assert_close(a.detach(), b)
    assert not numpy.allclose(ours[0].detach().numpy(), numpy.random.default_rng(0).standard_normal(SHAPES[0]))


def test_adamw_decay_is_not_adams():
    settings = dict(lr=0.02, weight_decay=0.3)
    adam, _ = run_ours(lambda p: optim.Adam(p, **settings))
    adamw, _ = run_ours(lambda p: optim.AdamW(p, **settings))
    assert not numpy.allclose(adam[0].detach().numpy(), adamw[0].detach().numpy())


def test_state_dict_resumes_training_exactly():
    """Five steps, save, load into a fresh optimizer, five more: the same as ten steps in one go."""
    straight, _ = run_ours(lambda p: optim.Adam(p, lr=0.01), steps=10)
    parameters, first = run_ours(lambda p: optim.Adam(p, lr=0.01), steps=5)
    state = first.state_dict()
    assert state["param_groups"][0]["params"] == [0, 1] and state["state"][0]["step"] == 5
    assert state["param_groups"][0]["lr"] == 0.01
    resumed = optim.Adam(parameters, lr=0.5)  # the loaded state brings lr back to 0.01
    resumed.load_state_dict(state)
    assert resumed.param_groups[0]["lr"] == 0.01
    data = numpy.random.default_rng(1).standard_normal((10, 5, 3))[5:]
    for x in data:
        resumed.zero_grad()
        hidden = (minigrad.tensor(x) @ parameters[0] + parameters[1]).tanh()
        (hidden * hidden).sum().backward()
        resumed.step()
    for a, b in zip(parameters, straight):
        assert_close(a.detach(), b.detach(), atol=1e-14)


def test_parameter_groups_and_skipped_gradients():
    a, b = minigrad.ones(2, requires_grad=True), minigrad.ones(2, requires_grad=True)
    optimizer = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad = minigrad.ones(2)  # b has no gradient: it is left alone
    optimizer.step()
    assert_close(a.detach(), [0.9, 0.9], atol=1e-7)
    assert_close(b.detach(), [1.0, 1.0], atol=0)
    b.grad = minigrad.ones(2)
    optimizer.step()
    assert_close(b.detach(), [0.5, 0.5], atol=1e-7)
    optimizer.zero_grad()
    assert a.grad is None and b.grad is None


def test_bad_settings_are_refused():
    parameter = minigrad.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([parameter], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([parameter], betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="require grad"):
        optim.Adam([minigrad.ones(2)])
    with pytest.raises(TypeError, match="iterable"):
        optim.Adam(parameter)



# --- learning-rate schedules ---------------------------------------------------------------------------------------

def _schedules(library, optimizer):
    """The same schedules built in minigrad (library = optim) or torch (library = torch.optim)."""
    schedulers = library.lr_scheduler
    return {
        "lambda": lambda: schedulers.LambdaLR(optimizer, lambda step: 0.95 ** step + 0.01 * step),
        "lambda_per_group": lambda: schedulers.LambdaLR(optimizer, [lambda step: 1 / (step + 1),
                                                                    lambda step: min(1.0, (step + 1) / 4)]),
        "step": lambda: schedulers.StepLR(optimizer, step_size=3, gamma=0.5),
        "linear": lambda: schedulers.LinearLR(optimizer, start_factor=0.1, total_iters=4),
        "linear_decay": lambda: schedulers.LinearLR(optimizer, start_factor=1.0, end_factor=0.2, total_iters=7),
        "cosine": lambda: schedulers.CosineAnnealingLR(optimizer, T_max=6, eta_min=0.001),
        "warmup_then_cosine": lambda: schedulers.SequentialLR(optimizer, [
            schedulers.LinearLR(optimizer, start_factor=0.25, total_iters=3),
            schedulers.CosineAnnealingLR(optimizer, T_max=8)], milestones=[3]),
        "three_phases": lambda: schedulers.SequentialLR(optimizer, [
            schedulers.LambdaLR(optimizer, lambda step: 0.5),
            schedulers.StepLR(optimizer, step_size=2, gamma=0.3),
            schedulers.CosineAnnealingLR(optimizer, T_max=4, eta_min=0.01)], milestones=[2, 7]),
    }


@pytest.mark.parametrize("name", list(_schedules(optim, None)))
def test_lr_schedules_match_torch_step_by_step(name):
    def learning_rates(library, make_tensor):
        first, second = make_tensor(), make_tensor()
        optimizer = library.SGD([{"params": [first]}, {"params": [second], "lr": 0.05}], lr=0.1)
        scheduler = _schedules(library, optimizer)[name]()
        rates = []
        for _ in range(20):
            rates.append([group["lr"] for group in optimizer.param_groups])
            assert scheduler.get_last_lr() == rates[-1]
            optimizer.step()
            scheduler.step()
        return numpy.array(rates)

    ours = learning_rates(optim, lambda: minigrad.ones(2, requires_grad=True))
    theirs = learning_rates(torch.optim, lambda: torch.ones(2, requires_grad=True))
    numpy.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert len(numpy.unique(ours[:, 0])) > 2  # the schedule does change the rate


def test_sequential_lr_needs_one_milestone_between_two_schedulers():
    optimizer = optim.SGD([minigrad.ones(2, requires_grad=True)], lr=0.1)
    first = optim.lr_scheduler.StepLR(optimizer, 2)
    with pytest.raises(ValueError, match="milestones"):
        optim.lr_scheduler.SequentialLR(optimizer, [first, optim.lr_scheduler.StepLR(optimizer, 3)], milestones=[])
