"""``draw_graph(tensor)``: a picture of the computation graph behind a tensor, drawn with matplotlib alone.

Each op node shows its Function's name and output shape; each tensor draw_graph can see (the output, every leaf,
and any intermediate result you pass in ``names``) also shows a summary of its value and, once ``backward()`` has
filled ``.grad``, of its gradient. An intermediate result keeps a gradient only if ``retain_grad()`` was called on
it before backward, as in PyTorch. The graph does not keep intermediate values (only what each op saved for its
backward), which is why they must be passed in to be shown.

Arrows point from inputs to the ops that use them, so a value used twice sends two arrows: backward adds the
gradients that come back along them.
"""

from minigrad.tensor import Tensor

COLUMN_WIDTH = 1.8  # in row heights: room for a box of four summary lines between two columns


def collect_graph(output):
    """({key: leaf Tensor or op node}, [(source key, target key), ...]) for the graph that produced `output`.

    Keys are ``id`` of the leaf or the node; an edge runs from an input to the op that uses it, once per use."""
    items, edges = {}, []
    root = output if output.grad_fn is None else output.grad_fn
    stack, seen = [root], {id(root)}
    items[id(root)] = root
    while stack:
        node = stack.pop()
        if isinstance(node, Tensor):
            continue
        for parent in node.parents:
            if parent is None:
                continue
            edges.append((id(parent), id(node)))
            if id(parent) not in seen:
                seen.add(id(parent))
                items[id(parent)] = parent
                stack.append(parent)
    return items, edges


def summarize(array):
    """A short text for an array: the numbers themselves when there are at most three, else mean, min and max."""
    values = _host(array).ravel()
    if values.size == 0:
        return "empty"
    if values.size <= 3:
        return ", ".join(f"{value:.3g}" for value in values.tolist())
    return f"mean {values.mean():.2g} in [{values.min():.2g}, {values.max():.2g}]"


def _host(array):
    import numpy
    return numpy.asarray(array.get() if hasattr(array, "get") else array, dtype=float)


def _layout(items, edges, root_key):
    """(x, y) per key: the column is the longest path to the output, so arrows point right; a leaf sits one column
    left of the op that uses it (the leftmost such op)."""
    depth = {root_key: 0}
    changed = True
    while changed:
        changed = False
        for source, target in edges:
            if target in depth and depth.get(source, -1) < depth[target] + 1:
                depth[source] = depth[target] + 1
                changed = True
    columns = {}
    for key in items:
        columns.setdefault(depth[key], []).append(key)
    deepest = max(columns)
    position = {}
    for column, keys in columns.items():
        for row, key in enumerate(keys):
            position[key] = (-COLUMN_WIDTH * column, (len(keys) - 1) / 2 - row)
    return position, deepest, max(map(len, columns.values()))


def node_labels(output, names=None):
    """{key: label text} for every node of output's graph, the text draw_graph writes in its boxes."""
    names = names or {}
    tensor_of = {id(output) if output.grad_fn is None else id(output.grad_fn): output}
    for tensor in names:
        tensor_of[id(tensor) if tensor.grad_fn is None else id(tensor.grad_fn)] = tensor
    label_of = {id(t) if t.grad_fn is None else id(t.grad_fn): label for t, label in names.items()}
    items, _ = collect_graph(output)
    labels = {}
    for key, item in items.items():
        if isinstance(item, Tensor):
            lines = [label_of.get(key, "leaf"), str(item.shape)]
            tensor = item
        else:
            lines = [item.name + (f" = {label_of[key]}" if key in label_of else ""), str(item._shape)]
            tensor = tensor_of.get(key)
        if tensor is not None:
            lines.append("value " + summarize(tensor.data))
            if tensor.grad is not None:
                lines.append("grad " + summarize(tensor.grad.data))
        labels[key] = "\n".join(lines)
    return labels


def draw_graph(output, names=None, ax=None, title=None):
    """Draw the graph that produced `output` and return the matplotlib Axes.

    `names` maps tensors (leaves or intermediate results) to labels; those tensors also get value and gradient
    summaries. Op nodes are orange, leaves blue."""
    import matplotlib.pyplot as plt

    items, edges = collect_graph(output)
    root_key = id(output) if output.grad_fn is None else id(output.grad_fn)
    position, deepest, tallest = _layout(items, edges, root_key)
    labels = node_labels(output, names)
    if ax is None:
        _, ax = plt.subplots(figsize=(3.2 * (deepest + 1), 1.2 + 1.2 * tallest))
    drawn = {}
    for source, target in edges:  # an input used twice by one op gets two arrows, bent apart
        repeat = drawn[source, target] = drawn.get((source, target), -1) + 1
        ax.annotate("", xy=position[target], xytext=position[source],
                    arrowprops=dict(arrowstyle="->", color="gray", shrinkA=28, shrinkB=28,
                                    connectionstyle=f"arc3,rad={0.08 + 0.3 * repeat}"))
    for key, item in items.items():
        color = "#cfe2f3" if isinstance(item, Tensor) else "#fce5cd"
        ax.text(*position[key], labels[key], ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.4", facecolor=color, edgecolor="gray"))
    xs = [point[0] for point in position.values()]
    ys = [point[1] for point in position.values()]
    ax.set_xlim(min(xs) - 1.0, max(xs) + 1.0)
    ax.set_ylim(min(ys) - 0.9, max(ys) + 0.9)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax
