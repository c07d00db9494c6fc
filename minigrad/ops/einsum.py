"""Einstein summation: one op for products, contractions, traces, transposes and reductions of named indices.

An equation such as ``"bij,bjk->bik"`` names every dim of every operand with a letter; the output holds the
letters after ``->`` (without an arrow, the letters that appear once, in alphabetical order). Writing ``s_k`` for
the letters of operand k and ``o`` for the output's, the op computes

    y[o] = sum over the letters not in o of  prod_k A_k[s_k]

Gradient. y is linear in each operand, so dL/dA_k[s_k] = sum_o dL/dy[o] * dy[o]/dA_k[s_k], and dy[o]/dA_k[s_k] is
the product of the other operands, summed over every letter that is neither in o nor in s_k. That is again an
einsum, with dL/dy standing in for A_k:

    dL/dA_k = einsum("o, s_1, ..., (no s_k), ..., s_n -> s_k",  dL/dy, A_1, ..., A_n without A_k)

For ``"ij,jk->ik"`` this reads dL/dA = einsum("ik,jk->ij", G, B) = G B^T and dL/dB = einsum("ik,ij->jk", G, A)
= A^T G: the matmul rules. Two cases need care, because an einsum output cannot name them:

- a letter of s_k that appears nowhere else (``"ij->i"`` sums j out of A alone): y does not depend on which j,
  so the gradient is the same for every j: compute it without that letter, then broadcast along it;
- a letter repeated in s_k (``"ii->"``, the trace, reads the diagonal): only the diagonal elements are used, so
  the gradient is computed over the distinct letters and written onto the diagonal, zero elsewhere.

Broadcasting and ``...`` are not supported: every letter names one size.
"""

from minigrad.autograd.function import Function, call
from minigrad.backends import get_array_module
from minigrad.ops.shape import IndexAdd


def parse(equation, shapes):
    """(input letter strings, output letters, {letter: size}) of an equation, checked against the shapes."""
    equation = equation.replace(" ", "")
    if "." in equation:
        raise ValueError("einsum: '...' is not supported; name every dim with a letter")
    inputs, arrow, output = equation.partition("->")
    inputs = inputs.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} names {len(inputs)} operands but {len(shapes)} were given")
    if not arrow:  # implicit output: the letters used once, in alphabetical order
        letters = "".join(inputs)
        output = "".join(sorted(letter for letter in set(letters) if letters.count(letter) == 1))
    sizes = {}
    for letters, shape in zip(inputs, shapes):
        if len(letters) != len(shape):
            raise ValueError(f"einsum: {letters!r} names {len(letters)} dims but the operand has shape {tuple(shape)}")
        for letter, size in zip(letters, shape):
            if not letter.isalpha():
                raise ValueError(f"einsum: {letter!r} is not a letter")
            if sizes.setdefault(letter, size) != size:
                raise ValueError(f"einsum: letter {letter!r} is size {sizes[letter]} in one place and {size} in "
                                 "another (einsum does not broadcast)")
    for letter in output:
        if letter not in sizes:
            raise ValueError(f"einsum: output letter {letter!r} names no input dim")
    if len(set(output)) != len(output):
        raise ValueError(f"einsum: output letters {output!r} repeat a letter")
    return inputs, output, sizes


class Einsum(Function):
    """y = einsum(equation, *operands).    dL/dA_k = einsum(o and the other operands' letters -> s_k)
    (derived above, with broadcasting over letters only A_k has and writing onto its diagonals)."""

    @staticmethod
    def forward(ctx, equation, *operands):
        inputs, output, sizes = parse(equation, [operand.shape for operand in operands])
        ctx.save_for_backward(*operands)
        ctx.inputs, ctx.output, ctx.sizes = inputs, output, sizes
        return get_array_module(*operands).einsum(",".join(inputs) + "->" + output, *operands)

    @staticmethod
    def backward(ctx, grad_output):
        operands = ctx.saved_tensors
        xp = get_array_module(grad_output)
        grads = [None]
        for k, (letters, operand) in enumerate(zip(ctx.inputs, operands)):
            if not ctx.needs_input_grad[k + 1]:
                grads.append(None)
                continue
            others = [(ctx.inputs[j], operands[j]) for j in range(len(operands)) if j != k]
            elsewhere = set(ctx.output).union(*(set(other) for other, _ in others))
            distinct = "".join(dict.fromkeys(letters))           # the letters of A_k, each once, in order
            reached = "".join(letter for letter in distinct if letter in elsewhere)
            subscripts = ",".join([ctx.output] + [other for other, _ in others]) + "->" + reached
            grad = xp.einsum(subscripts, grad_output, *(operand for _, operand in others))
            # letters only A_k has: the gradient does not depend on them, so it is the same along each
            grad = grad.reshape([ctx.sizes[letter] if letter in reached else 1 for letter in distinct])
            grad = xp.broadcast_to(grad, [ctx.sizes[letter] for letter in distinct])
            if len(distinct) != len(letters):  # a repeated letter reads a diagonal: write the gradient there
                grad = _onto_diagonal(xp, grad, distinct, letters, operand)
            grads.append(grad)
        return tuple(grads)


def _onto_diagonal(xp, grad, distinct, letters, operand):
    """zeros of the operand's shape with `grad` on the diagonal its repeated letters read (each place once)."""
    coordinates = {}
    for position, letter in enumerate(distinct):
        shape = [1] * len(distinct)
        shape[position] = grad.shape[position]
        coordinates[letter] = xp.arange(grad.shape[position]).reshape(shape)
    return call(IndexAdd, grad, tuple(operand.shape), tuple(coordinates[letter] for letter in letters))
