"""The autograd engine: Function (the op API), the backward pass, grad modes, gradcheck, and gradients of
gradients (``grad``, ``gradgradcheck``)."""

from minigrad.autograd.broadcasting import unbroadcast
from minigrad.autograd.function import Context, Function
from minigrad.autograd.mode import detect_anomaly, enable_grad, is_grad_enabled, no_grad
from minigrad.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from minigrad.autograd.higher_order import grad

__all__ = ["Function", "Context", "unbroadcast", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
           "gradcheck", "gradgradcheck", "GradcheckError", "grad"]
