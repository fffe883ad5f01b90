from actbench.activation import BUILTINS
from actbench.palette import colour, shape


def test_the_pairs_the_issue_saw_as_one_colour_are_apart():
    """tab20's strong/light twins made relu/hardswish, hardtanh/relu6 and selu/celu one
    colour; each now has a colour (and a marker) of its own."""
    assert (colour("relu"), colour("hardswish")) == ("#ff7f0e", "#0504aa")
    assert (colour("hardtanh"), colour("relu6")) == ("#0b4008", "#fe7b7c")
    assert (colour("selu"), colour("celu")) == ("#bcbd22", "#00555a")
    assert (shape("relu"), shape("hardswish")) == ("s", "H")


def test_every_builtin_has_a_colour_and_a_colour_marker_pair_of_its_own():
    names = list(BUILTINS)
    assert len(names) == 17
    assert len({colour(n) for n in names}) == 17
    assert len({(colour(n), shape(n)) for n in names}) == 17


def test_the_default_sweeps_colours_stay_tab10s():
    assert [colour(n) for n in ("identity", "relu", "tanh", "sigmoid", "elu")] == [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    ]  # fmt: skip
    assert colour("my.mod:act") == colour("my.mod:act")  # custom: stable by name
