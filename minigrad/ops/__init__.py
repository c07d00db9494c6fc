"""minigrad's primitive ops, one Function each, grouped by kind. Tensor methods and operators call these."""

from minigrad.ops.arithmetic import Add, Div, Mul, Neg, Pow, Sub
from minigrad.ops.elementwise import Abs, Cast, Exp, Log, Maximum, Minimum, Relu, Sigmoid, Sqrt, Tanh
from minigrad.ops.linalg import MatMul
from minigrad.ops.reductions import Max, Mean, Min, Sum, Var
from minigrad.ops.shape import BroadcastTo, Concatenate, GetItem, Reshape, Stack, Transpose, Where

__all__ = ["Add", "Sub", "Mul", "Div", "Neg", "Pow", "Exp", "Log", "Sqrt", "Tanh", "Sigmoid", "Relu", "Abs",
           "Maximum", "Minimum", "Cast", "MatMul", "Sum", "Mean", "Var", "Max", "Min", "Reshape", "Transpose",
           "BroadcastTo", "GetItem", "Concatenate", "Stack", "Where"]
