"""Seed groups: what trains together, and how the last wave is split to fill idle slots
(expected groups written by hand)."""

from __future__ import annotations

from dataclasses import replace

from actbench import groups, plan
from actbench.groups import Group


def names(gs: list[Group]) -> list[tuple[int, int, list[str], bool]]:
    """(seed, id, activations, whether the first is a pacer) per group."""
    return [(g.seed, g.id, g.names, g.paced) for g in gs]


def five(tiny_config, **changes):
    acts = ["relu", "tanh", "sigmoid", "elu"]
    return plan.build(replace(tiny_config, activations=acts, seeds=[0, 1, 2], **changes))


def test_three_seeds_on_two_slots_split_the_third_seed_in_two(tiny_config):
    p = five(tiny_config)
    filled = groups.fill(p, groups.to_train(p, set()), jobs=2)
    every = ["identity", "relu", "tanh", "sigmoid", "elu"]
    assert names(filled) == [
        (0, 0, every, False),
        (1, 0, every, False),
        (2, 0, ["identity", "relu", "sigmoid"], False),
        (2, 1, ["identity", "tanh", "elu"], True),
    ]


def test_groups_that_fill_every_slot_are_left_whole(tiny_config):
    p = five(tiny_config)
    assert len(groups.fill(p, groups.to_train(p, set()), jobs=1)) == 3
    assert len(groups.fill(p, groups.to_train(p, set()), jobs=3)) == 3


def test_one_seed_on_four_slots_splits_as_far_as_its_activations_go(tiny_config):
    p = plan.build(replace(tiny_config, activations=["relu", "tanh"], seeds=[0]))
    assert names(groups.fill(p, groups.to_train(p, set()), jobs=4)) == [
        (0, 0, ["identity", "relu"], False),
        (0, 1, ["identity", "tanh"], True),
    ]


def test_three_groups_on_four_slots_split_one_of_them(tiny_config):
    p = plan.build(replace(tiny_config, activations=["relu", "tanh", "elu"], seeds=[0, 1, 2]))
    every = ["identity", "relu", "tanh", "elu"]
    assert names(groups.fill(p, groups.to_train(p, set(), first_id=3), jobs=4)) == [
        (0, 3, ["identity", "relu", "elu"], False),
        (0, 4, ["identity", "tanh"], True),
        (1, 3, every, False),
        (2, 3, every, False),
    ]


def test_a_sequential_run_is_never_split(tiny_config):
    p = five(tiny_config, schedule="sequential")
    assert len(groups.fill(p, groups.to_train(p, set()), jobs=2)) == 3


def test_a_resumed_seed_trains_its_finished_baseline_again_as_a_pacer(tiny_config):
    p = five(tiny_config)
    done = {(a, s) for s in (0, 1) for a in ("identity", "relu", "tanh", "sigmoid", "elu")}
    done |= {("identity", 2), ("relu", 2)}
    todo = groups.to_train(p, done, first_id=1)
    assert names(todo) == [(2, 1, ["identity", "tanh", "sigmoid", "elu"], True)]
    assert names(groups.fill(p, todo, jobs=2)) == [
        (2, 1, ["identity", "tanh", "elu"], True),
        (2, 2, ["identity", "sigmoid"], True),
    ]
