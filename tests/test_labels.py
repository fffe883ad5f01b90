from itertools import combinations

from matplotlib.figure import Figure

from actbench import labels


def _boxes(ax):
    return [t.get_window_extent() for t in ax.texts]


def test_names_of_crowded_points_do_not_cover_each_other():
    """Six points stacked closer than a line of text: written to the right of each, the
    names would sit on one another."""
    fig = Figure(figsize=(5, 4), layout="constrained")
    ax = fig.subplots()
    points = [(10.0, 10.0 + 0.5 * i, f"name{i}", "black") for i in range(6)]
    ax.plot([p[0] for p in points], [p[1] for p in points], "o")
    ax.set(xlim=(0, 20), ylim=(0, 40))
    labels.place(ax, points)
    fig.draw_without_rendering()
    boxes = _boxes(ax)
    assert [t.get_text() for t in ax.texts] == [f"name{i}" for i in range(6)]
    assert not any(a.overlaps(b) for a, b in combinations(boxes, 2))


def test_a_lone_point_is_named_to_its_right_and_a_point_at_the_right_edge_to_its_left():
    fig = Figure(figsize=(5, 4), layout="constrained")
    ax = fig.subplots()
    ax.set(xlim=(0, 10), ylim=(0, 10))
    labels.place(ax, [(2.0, 5.0, "relu", "red"), (9.9, 2.0, "leaky_relu", "grey")])
    first, second = ax.texts
    assert (first.get_ha(), first.xyann) == ("left", (8.0, 0.0))
    assert second.get_ha() == "right" and second.xyann[0] < 0
