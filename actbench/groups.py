"""Seed groups: which trials train together, and how the last ones fill idle cores.

A group is trials of one seed that train together under the run's schedule, in a worker
process of their own (`executor.py`), `jobs` groups at once. When the number of groups is
not a multiple of `jobs`, the last wave would leave slots idle: three seeds on two cores
train the third seed alone, a quarter of the sweep's core-seconds spent waiting. Under the
interleaved schedule the last wave's groups are split instead, so that every slot trains:
each part holds some of its seed's activations and the baseline, which trains again beside
them as a *pacer*: its rounds are kept, so each part's costs are measured against a
baseline in the same rounds, as in any group, and it stops when the others of its part have
ended (nothing else of it is kept). The seed's baseline row is the first part's (every part
starts from the seed's weights and batches, so the scores are those of one whole group). A
resumed seed whose baseline has finished trains it again as a pacer the same way. Each
group carries the id its rounds are saved under (`rounds.csv`'s `group`), new for every
execution of a run and every part of a seed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from actbench.activation import Activation
from actbench.plan import Plan


@dataclass(frozen=True)
class Group:
    """Trials of one seed that train together, and the id their rounds are saved under."""

    seed: int
    activations: tuple[Activation, ...]
    id: int = 0
    paced: bool = False  # the first activation, the baseline, trains as a pacer

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.activations]


def to_train(plan: Plan, done: Collection[tuple[str, int]], first_id: int = 0) -> list[Group]:
    """Per seed, the activations still to train (`done`: the saved (activation, seed)
    rows), with the baseline as a pacer where a seed's baseline has finished but others
    have not."""
    groups, baseline = [], plan.baseline
    for seed in plan.config.seeds:
        missing = [a for a in plan.activations if (a.name, seed) not in done]
        if not missing:
            continue
        paced = _paced(plan) and (baseline.name, seed) in done
        if paced:
            missing.insert(0, baseline)
        groups.append(Group(seed, tuple(missing), first_id, paced))
    return groups


def _paced(plan: Plan) -> bool:
    """Whether a baseline can pace a part (interleaved: its rounds are the others')."""
    return plan.config.schedule == "interleaved" and plan.baseline is not None


def fill(plan: Plan, groups: list[Group], jobs: int) -> list[Group]:
    """`groups` with the last wave's groups split into parts, so that `jobs` slots all
    train; unchanged when the groups fill every slot or cannot be paced."""
    tail = len(groups) % jobs
    if not tail or not _paced(plan):
        return groups
    idle = jobs - tail
    out = list(groups[:-tail])
    for k, group in enumerate(groups[-tail:]):
        parts = 1 + idle // tail + (k < idle % tail)
        out += _split(group, parts, plan.baseline)
    return out


def _split(group: Group, parts: int, baseline: Activation) -> list[Group]:
    """`group` as up to `parts` groups, each the baseline and a share of the others (dealt
    round-robin, in order), with ids `group.id`, `group.id + 1`, ..."""
    others = [a for a in group.activations if a.name != baseline.name]
    parts = min(parts, len(others))
    if parts < 2 or len(others) == len(group.activations):  # no baseline in it to pace
        return [group]
    shares = [others[i::parts] for i in range(parts)]
    return [
        Group(group.seed, (baseline, *share), group.id + i, group.paced or i > 0)
        for i, share in enumerate(shares)
    ]
