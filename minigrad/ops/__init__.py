"""minigrad's primitive ops, one Function each, grouped by kind. Tensor methods and operators call these."""

from minigrad.ops.arithmetic import Add, Div, Mul, Neg, Pow, Sub
from minigrad.ops.comparison import (All, Any, ArgMax, ArgMin, BitwiseAnd, BitwiseNot, BitwiseOr, BitwiseXor, Equal,
                                     Greater, GreaterEqual, IsFinite, IsInf, IsNan, Less, LessEqual, Nonzero,
                                     NotEqual)
from minigrad.ops.einsum import Einsum
from minigrad.ops.elementwise import Abs, Cast, Exp, Log, Maximum, Minimum, Relu, Sigmoid, Sqrt, Tanh
from minigrad.ops.indexing import ArgSort, Gather, ScatterAdd
from minigrad.ops.linalg import MatMul
from minigrad.ops.pointwise import (Ceil, Clamp, Clone, Cos, Exp2, Expm1, Floor, FloorDivide, Log1p, Log2, Log10,
                                    NanToNum, Reciprocal, Remainder, Round, Rsqrt, Sign, Sin, Square, Trunc)
from minigrad.ops.reductions import CumSum, LogSumExp, Max, Mean, Min, Norm, Prod, Std, Sum, Var
from minigrad.ops.shape import BroadcastTo, Concatenate, GetItem, IndexAdd, Reshape, Stack, Transpose, Where

__all__ = ["Add", "Sub", "Mul", "Div", "Neg", "Pow", "Exp", "Log", "Sqrt", "Tanh", "Sigmoid", "Relu", "Abs",
           "Maximum", "Minimum", "Cast", "MatMul", "Sum", "Mean", "Var", "Max", "Min", "Reshape", "Transpose",
           "BroadcastTo", "GetItem", "IndexAdd", "Concatenate", "Stack", "Where",
           "Less", "LessEqual", "Greater", "GreaterEqual", "Equal", "NotEqual", "BitwiseAnd", "BitwiseOr",
           "BitwiseXor", "BitwiseNot", "IsNan", "IsInf", "IsFinite", "Any", "All", "ArgMax", "ArgMin", "Nonzero",
           "Sin", "Cos", "Square", "Reciprocal", "Rsqrt", "Log1p", "Expm1", "Log2", "Log10", "Exp2", "Clamp",
           "NanToNum", "Sign", "Floor", "Ceil", "Round", "Trunc", "FloorDivide", "Remainder", "Clone",
           "Std", "Prod", "CumSum", "LogSumExp", "Norm", "Gather", "ScatterAdd", "ArgSort", "Einsum"]
