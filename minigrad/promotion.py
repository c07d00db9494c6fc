"""PyTorch's type promotion: which dtype ``a + b`` has when a and b differ.

On Tensors minigrad follows PyTorch (``torch.result_type``); inside a ``Function``, on raw arrays, NumPy's own
rules hold. The two differ in three places:

- **Categories decide before sizes.** The categories are bool < integer < floating. When operands of different
  categories meet, the result is the dtype of the higher category as it is: an int64 tensor plus a float32 tensor
  is float32 (NumPy says float64, the type that can hold both).
- **Python numbers are weak.** A Python number never raises the precision within its category, and where it
  raises the category it brings the *default* dtype of that category: ``int_tensor * 2.5`` is float32 (the
  default float dtype, ``minigrad.set_default_dtype``), ``float16_tensor * 2.5`` stays float16, ``bool_tensor + 1``
  is int64.
- **0-d tensors are weak too, one step less.** A 0-d tensor counts only where its category is higher than that
  of every tensor with dimensions: ``float32_tensor + tensor(1.0, dtype=float64)`` stays float32, but
  ``int32_tensor + tensor(1.5, dtype=float64)`` is float64.

Formally (PyTorch's ``combine_categories``): promote the dimensioned tensors among themselves, the 0-d tensors
among themselves and the Python numbers among themselves; then combine 0-d with Python numbers and the
dimensioned result with that, where a lower-priority dtype counts only if its category is higher. Complex dtypes
take part as a fourth category, without PyTorch's finer rule that float32 with a complex number gives complex64.
"""

import numpy

from minigrad import creation

_BOOL, _INTEGER, _FLOATING, _COMPLEX = range(4)


def category(dtype):
    return {"b": _BOOL, "i": _INTEGER, "u": _INTEGER, "f": _FLOATING, "c": _COMPLEX}[numpy.dtype(dtype).kind]


def promote_types(a, b):
    """PyTorch's ``promote_types`` for two dtypes: the higher category wins as it is; within a category, the wider."""
    if a is None or b is None:
        return a if b is None else b
    category_a, category_b = category(a), category(b)
    if category_a != category_b:
        return numpy.dtype(a if category_a > category_b else b)
    return numpy.promote_types(a, b)


def _python_number_dtype(value):
    if isinstance(value, bool):
        return numpy.dtype(numpy.bool_)
    if isinstance(value, int):
        return numpy.dtype(numpy.int64)
    if isinstance(value, complex):
        return numpy.dtype(numpy.complex128 if creation.get_default_dtype() == numpy.float64 else numpy.complex64)
    return creation.get_default_dtype()


def _combine(higher, lower):
    """`higher`'s dtype, unless `lower` (a weaker kind of operand) has a higher category."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    if category(higher) >= _FLOATING:
        return higher
    if category(higher) == _BOOL or category(lower) >= _FLOATING:
        return promote_types(higher, lower)
    return higher


def result_type(*operands):
    """The dtype of an elementwise op on `operands` (Tensors and Python numbers), by PyTorch's rules."""
    dimensioned = zero_d = number = None
    for operand in operands:
        data = getattr(operand, "data", None)
        if data is not None and hasattr(data, "dtype"):
            if data.ndim:
                dimensioned = promote_types(dimensioned, data.dtype)
            else:
                zero_d = promote_types(zero_d, data.dtype)
        else:
            number = promote_types(number, _python_number_dtype(operand))
    return _combine(dimensioned, _combine(zero_d, number))


def floating(dtype):
    """`dtype` where it is floating (or complex); the default float dtype for bool and integer dtypes."""
    return dtype if category(dtype) >= _FLOATING else creation.get_default_dtype()
