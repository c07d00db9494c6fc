"""Learning-rate schedules, with torch.optim.lr_scheduler's names, arguments and values step by step.

A scheduler sets ``group["lr"]`` of every parameter group of an optimizer from the group's initial learning rate
(``group["initial_lr"]``, recorded by the first scheduler) and a step count: call ``scheduler.step()`` once after
each ``optimizer.step()``. Construction already applies step 0, so the first optimizer step uses the schedule's
first value. ``get_last_lr()`` gives the values last set.

Each schedule here is its closed form, lr(t) for base learning rate b at step t:

    LambdaLR(lr_lambda)                     b * lr_lambda(t)
    StepLR(step_size, gamma=0.1)            b * gamma ** (t // step_size)
    LinearLR(start_factor=1/3, end_factor=1, total_iters=5)
                                            b * (start + (end - start) * min(t, total_iters) / total_iters)
    CosineAnnealingLR(T_max, eta_min=0)     eta_min + (b - eta_min) * (1 + cos(pi t / T_max)) / 2
    SequentialLR(schedulers, milestones)    schedulers[k] with its own step count restarted at 0 at milestone k - 1

PyTorch computes most of them as a recursion on the current ``group["lr"]`` (one factor per step); the two agree
to rounding (the tests hold them to 1e-12), but the closed form reads as the schedule and does not drift.
"""

import bisect
import math


class LRScheduler:
    """Base class: subclasses define ``lr_at(group_index, base_lr, step)``."""

    def __init__(self, optimizer, last_epoch=-1):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError("param 'initial_lr' is not specified in param_groups when resuming a schedule "
                               "(last_epoch != -1)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, group_index, base_lr, step):
        raise NotImplementedError

    def step(self):
        """Advance one step and set every group's learning rate."""
        self.last_epoch += 1
        self._apply()

    def _apply(self):
        for index, (group, base_lr) in enumerate(zip(self.optimizer.param_groups, self.base_lrs)):
            group["lr"] = self.lr_at(index, base_lr, self.last_epoch)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        return list(self._last_lr)

    def state_dict(self):
        """The schedule's position and settings: everything but the optimizer, functions and sub-schedulers."""
        return {key: value for key, value in self.__dict__.items()
                if key not in ("optimizer", "lr_lambdas", "schedulers")}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


class LambdaLR(LRScheduler):
    """b * lr_lambda(t); `lr_lambda` is one function or a list with one per parameter group."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(f"Expected {groups} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * groups
        super().__init__(optimizer, last_epoch)

    def lr_at(self, group_index, base_lr, step):
        return base_lr * self.lr_lambdas[group_index](step)


class StepLR(LRScheduler):
    """b * gamma ** (t // step_size): the rate drops by gamma every step_size steps."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, group_index, base_lr, step):
        return base_lr * self.gamma ** (step // self.step_size)


class LinearLR(LRScheduler):
    """From start_factor * b to end_factor * b linearly over total_iters steps, then constant: a warm-up."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if not 0 < start_factor <= 1:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
        if not 0 <= end_factor <= 1:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, group_index, base_lr, step):
        progress = min(self.total_iters, step) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from b down to eta_min over T_max steps (and back up over the next T_max, and so on)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):  # noqa: N803  (PyTorch's argument name)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, group_index, base_lr, step):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * step / self.T_max)) / 2


class SequentialLR(LRScheduler):
    """schedulers[0] until milestones[0], then schedulers[1] (from its own step 0), and so on."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR expects {len(schedulers) - 1} milestones for {len(schedulers)} "
                             f"schedulers, got {len(milestones)}")
        for index, scheduler in enumerate(schedulers):
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: scheduler {index} belongs to a different optimizer")
        self.schedulers, self.milestones = list(schedulers), list(milestones)
        super().__init__(optimizer, last_epoch)

    def step(self):
        self.last_epoch += 1
        index = bisect.bisect_right(self.milestones, self.last_epoch)
        scheduler = self.schedulers[index]
        scheduler.last_epoch = self.last_epoch - (self.milestones[index - 1] if index else 0)
        scheduler._apply()
        self._last_lr = scheduler.get_last_lr()
