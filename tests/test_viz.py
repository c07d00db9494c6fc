"""draw_graph: every node drawn with its op, shape and, where the tensor is known, value and gradient."""

import matplotlib

matplotlib.use("Agg")

import minigrad  # noqa: E402
from minigrad import viz  # noqa: E402


def _neuron():
    w = minigrad.tensor([2.0], dtype="float64", requires_grad=True)
    x = minigrad.tensor([-1.5], dtype="float64", requires_grad=True)
    z = w * x
    y = z.tanh()
    loss = (y * y).sum()
    return w, x, z, y, loss


def test_collect_graph_finds_every_op_and_leaf_and_one_edge_per_use():
    w, x, z, y, loss = _neuron()
    items, edges = viz.collect_graph(loss)
    ops = sorted(item.name for item in items.values() if not isinstance(item, minigrad.Tensor))
    assert ops == ["Mul", "Mul", "Sum", "Tanh"]
    assert len(items) == 6 and len(edges) == 6  # y feeds the second Mul twice


def test_labels_show_values_before_and_gradients_after_backward():
    w, x, z, y, loss = _neuron()
    z.retain_grad()
    names = {w: "w", x: "x", z: "z", loss: "L"}
    before = viz.node_labels(loss, names)
    assert before[id(w)] == "w\n(1,)\nvalue 2"
    assert before[id(z.grad_fn)] == "Mul = z\n(1,)\nvalue -3"
    assert "grad" not in "".join(before.values())
    loss.backward()
    after = viz.node_labels(loss, names)
    assert after[id(z.grad_fn)] == f"Mul = z\n(1,)\nvalue -3\ngrad {viz.summarize(z.grad.data)}"
    assert after[id(w)].endswith("grad " + viz.summarize(w.grad.data))
    # An intermediate not passed in shows its op and shape only: the graph does not keep its value.
    assert after[id(y.grad_fn)] == "Tanh\n(1,)"


def test_summaries_of_small_and_large_arrays():
    assert viz.summarize(minigrad.tensor([1.0, 2.5]).data) == "1, 2.5"
    assert viz.summarize(minigrad.arange(10).data) == "mean 4.5 in [0, 9]"


def test_draw_graph_draws_one_box_per_node():
    w, x, z, y, loss = _neuron()
    loss.backward()
    ax = viz.draw_graph(loss, {w: "w", x: "x", loss: "L"}, title="a neuron")
    boxes = [text.get_text() for text in ax.texts if text.get_text()]  # the arrows are empty annotations
    assert len(boxes) == 6 and ax.get_title() == "a neuron"
    assert any(box.startswith("Sum = L") for box in boxes)
    assert any(box.startswith("w\n") and "\ngrad " in box for box in boxes)
