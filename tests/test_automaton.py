"""Automata over the colours: the Z3 SET machine, minimisation, extraction, L*."""
import itertools

import numpy as np
import pytest

from setdyn import task
from setdyn.analysis.automaton import Automaton, canonical_steps, extract_automaton, learn_lstar, z3_automaton


@pytest.mark.parametrize("steps", list(itertools.permutations(range(3))))
def test_every_z3_bijection_recognizes_set(steps):
    a = z3_automaton(steps)
    assert a.n_states == 3 and a.is_z3() and a.recognizes_set()
    assert a.z3_steps() == canonical_steps(steps)
    assert canonical_steps(steps) in (steps, tuple((-x) % 3 for x in steps))
    combos = np.array(task.all_combinations())
    assert list(a.accepts(combos)) == [task.is_valid_set(c) for c in combos]


def test_non_bijective_steps_are_not_the_set_machine():
    a = z3_automaton((0, 0, 1))
    assert not a.is_z3() and not a.recognizes_set()


def test_padding_and_empty_words():
    a = z3_automaton()
    assert a.run([[1, 1, -1, -1]])[0] == 2
    assert a.accepts([[1, 2, -1]])[0]
    assert a.accepts(np.zeros((1, 0), dtype=int))[0]


def test_minimisation_merges_a_redundant_parity_bit():
    # states (sum mod 3, length mod 2): 6 states, acceptance ignores the parity
    states = [(s, p) for s in range(3) for p in range(2)]
    idx = {st: i for i, st in enumerate(states)}
    trans = [[idx[((s + c) % 3, 1 - p)] for c in range(3)] for s, p in states]
    big = Automaton(np.array(trans), idx[(0, 0)], frozenset({idx[(0, 0)], idx[(0, 1)]}))
    m = big.minimized()
    assert m.n_states == 3 and m.is_z3()
    # if acceptance depends on the parity, nothing merges
    odd = Automaton(np.array(trans), idx[(0, 0)], frozenset({idx[(0, 0)]}))
    assert odd.minimized().n_states == 6 and not odd.is_z3()


def test_extraction_from_class_sequences():
    rng = np.random.default_rng(0)
    colors = rng.integers(0, 3, (300, 3))
    steps = np.array([2, 0, 1])
    classes = np.concatenate([np.zeros((300, 1), int), np.cumsum(steps[colors], 1) % 3], 1)
    votes = classes[:, -1] == 0
    ext = extract_automaton(classes, colors, votes)
    assert ext.consistency == 1.0 and ext.complete
    assert ext.automaton.is_z3() and ext.automaton.z3_steps() == canonical_steps((2, 0, 1)) == (1, 0, 2)
    # a few mislabelled transitions lower the consistency but not the majority machine
    noisy = classes.copy()
    noisy[:5, 2] = (noisy[:5, 2] + 1) % 3
    ext2 = extract_automaton(noisy, colors, votes)
    assert 0.98 < ext2.consistency < 1.0 and ext2.automaton.is_z3()


def _prefix_oracle(rule):
    def oracle(words):
        return [np.array([rule(w[:k]) for k in range(len(w) + 1)]) for w in words]
    return oracle


def test_lstar_learns_z3_from_an_exact_oracle():
    steps = (1, 0, 2)
    res = learn_lstar(_prefix_oracle(lambda w: sum(steps[c] for c in w) % 3 == 0), n_random=50)
    assert res.automaton.n_states == 3 and res.automaton.is_z3() and res.automaton.z3_steps() == canonical_steps(steps)
    d = res.to_dict()
    assert d["states"] == 3 and d["is_z3"] and d["recognizes_set"]


def test_lstar_reports_what_it_is_instead():
    res = learn_lstar(_prefix_oracle(lambda w: len(w) % 2 == 0), n_random=50)
    assert res.automaton.n_states == 2 and not res.automaton.is_z3()
