"""One colour and one marker per activation, the same in every picture of every run.

Seventeen built-ins outnumber any palette whose colours stay apart: matplotlib's tab20
pairs each strong colour with its light twin, so relu and hardswish, or selu and celu,
read as one. The first ten built-ins (the default sweep's and the usual ones) keep tab10;
the other seven are xkcd colours picked one by one, each the farthest (CIEDE2000) from
tab10 and those picked before it, among those neither too light on white nor near black:
no two of the seventeen are closer than tab10's own closest pair (red and brown);
and the scatter gives each activation a marker too (`shape`) and writes its name by its
point, so no pair depends on colour alone.
"""

from __future__ import annotations

import zlib

import matplotlib

from actbench.activation import BUILTINS

EXTRA = (  # mish, hardswish, celu, relu6, prelu, softsign, hardtanh
    "#750851",  # xkcd velvet
    "#0504aa",  # xkcd royal blue
    "#00555a",  # xkcd deep teal
    "#fe7b7c",  # xkcd salmon pink
    "#7d7103",  # xkcd ugly brown
    "#b2996e",  # xkcd dust
    "#0b4008",  # xkcd hunter green
)
PALETTE = tuple(matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["tab10"].colors) + EXTRA
SHAPES = "os^Dv<>pPXhH*d8"  # filled markers, each drawn with a white face when hollow


def _index(activation: str) -> int:
    """A built-in's place in the list, a custom activation's hash: stable by name."""
    names = list(BUILTINS)
    return names.index(activation) if activation in names else zlib.crc32(activation.encode())


def colour(activation: str) -> str:
    """The same colour for an activation in every picture of every run."""
    return PALETTE[_index(activation) % len(PALETTE)]


def shape(activation: str) -> str:
    """The activation's marker in a one-run scatter (an overlay's marker is its run's)."""
    return SHAPES[_index(activation) % len(SHAPES)]
