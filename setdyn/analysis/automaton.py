"""Finite-state machines over the colours: the Z3 automaton, extraction from phases, L*.

The SET rule is an automaton on Z3: give each colour a step a_c in Z3 (the
three steps all different), start at 0, add a_c for every colour shown, and
accept when the sum is back at 0. Three colours are a SET exactly then
(3a = 0; 0 + 1 + 2 = 0; and 2a + b != 0 when b != a).

* `Automaton`: a deterministic automaton over colour indices 0, 1, 2
  (green, purple, red), vectorised over batches of words.
* `z3_automaton(steps)`: the reference machine.
* `extract_automaton`: the machine read off a network's phase classes
  (class before and after each pulse, majority transitions).
* `learn_lstar`: Angluin's L* (AALpy) with any batched membership oracle,
  e.g. the network's phase read-out (see `setdyn.analysis.phase_membership`).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .. import task

Word = tuple[int, ...]
#: Batched membership oracle: for each word, a bool array of length len(word) + 1
#: giving membership of every prefix (index 0 = the empty word).
PrefixOracle = Callable[[Sequence[Word]], list[np.ndarray]]


@dataclass
class Automaton:
    """Deterministic finite automaton over the colours 0, 1, 2 (G, P, R).

    transitions[s, c] is the state after colour c in state s; `start` the
    initial state; `accepting` the accepting states; `labels` a name per
    state (e.g. the phase class centre).
    """

    transitions: np.ndarray
    start: int = 0
    accepting: frozenset[int] = frozenset({0})
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.transitions = np.asarray(self.transitions, dtype=np.int64)
        if self.transitions.ndim != 2 or self.transitions.shape[1] != 3:
            raise ValueError(f"transitions must be n_states x 3, got {self.transitions.shape}")
        self.accepting = frozenset(int(s) for s in self.accepting)
        if not self.labels:
            self.labels = tuple(str(s) for s in range(self.n_states))

    @property
    def n_states(self) -> int:
        return self.transitions.shape[0]

    def run(self, words: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
        """Final state of each word; words is a (batch x length) int array, -1 = no letter (padding)."""
        w = np.atleast_2d(np.asarray(words, dtype=np.int64)) if len(words) else np.zeros((0, 0), np.int64)
        s = np.full(len(w), self.start, dtype=np.int64)
        for j in range(w.shape[1] if w.ndim == 2 else 0):
            c = w[:, j]
            s = np.where(c >= 0, self.transitions[s, np.clip(c, 0, 2)], s)
        return s

    def accepts(self, words: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
        """Whether each word (batch x length, -1 padding) ends in an accepting state."""
        return np.isin(self.run(words), list(self.accepting))

    def reachable(self) -> list[int]:
        seen, todo = {self.start}, [self.start]
        while todo:
            s = todo.pop()
            for t in self.transitions[s]:
                if int(t) not in seen:
                    seen.add(int(t))
                    todo.append(int(t))
        return sorted(seen)

    def minimized(self) -> "Automaton":
        """The minimal equivalent automaton (unreachable states dropped, Moore partition refinement)."""
        states = self.reachable()
        idx = {s: i for i, s in enumerate(states)}
        delta = np.array([[idx[int(t)] for t in self.transitions[s]] for s in states])
        block = np.array([1 if s in self.accepting else 0 for s in states])
        while True:
            sig = [(block[i], *block[delta[i]]) for i in range(len(states))]
            ids = {k: j for j, k in enumerate(dict.fromkeys(sig))}
            new = np.array([ids[k] for k in sig])
            stable = len(ids) == len(set(block.tolist()))
            block = new
            if stable:
                break
        n = int(block.max()) + 1
        trans = np.zeros((n, 3), dtype=np.int64)
        labels = [""] * n
        for i, s in enumerate(states):
            trans[block[i]] = block[delta[i]]
            labels[block[i]] = labels[block[i]] or self.labels[s]
        acc = frozenset(int(block[i]) for i, s in enumerate(states) if s in self.accepting)
        # renumber so that the start is 0 and states appear in breadth-first order
        order, todo = [int(block[idx[self.start]])], [int(block[idx[self.start]])]
        while todo:
            s = todo.pop(0)
            for t in trans[s]:
                if int(t) not in order:
                    order.append(int(t))
                    todo.append(int(t))
        ren = {s: i for i, s in enumerate(order)}
        return Automaton(np.array([[ren[int(t)] for t in trans[s]] for s in order]), 0,
                         frozenset(ren[s] for s in acc), tuple(labels[s] for s in order))

    def z3_steps(self) -> tuple[int, int, int] | None:
        """The Z3 step of each colour if this is the SET automaton on Z3, else None.

        True when (after minimisation) there are 3 states that can be numbered
        0, 1, 2 with the start at 0 so that every colour adds a fixed step
        mod 3, the three steps are all different, and exactly the start
        state accepts. The machine alone cannot tell +1 from -1 (the
        numbering 0, 2, 1 works as well, with every step negated): the steps
        are returned with the first non-zero step equal to 1.
        """
        m = self.minimized()
        if m.n_states != 3 or m.accepting != frozenset({m.start}):
            return None
        others = [s for s in range(3) if s != m.start]
        for perm in itertools.permutations(others):
            g = {m.start: 0, perm[0]: 1, perm[1]: 2}
            steps = []
            ok = True
            for c in range(3):
                d = (g[int(m.transitions[m.start, c])] - 0) % 3
                ok &= all(g[int(m.transitions[s, c])] == (g[s] + d) % 3 for s in range(3))
                steps.append(d)
            if ok and len(set(steps)) == 3:
                return canonical_steps(steps)
        return None

    def is_z3(self) -> bool:
        """Is this the 3-state Z3 SET automaton (colours = three different steps mod 3)?"""
        return self.z3_steps() is not None

    def recognizes_set(self) -> bool:
        """Does it accept exactly the valid SETs among the 27 colour triples?"""
        combos = np.array(task.all_combinations())
        return bool(np.array_equal(self.accepts(combos), [task.is_valid_set(c) for c in combos]))

    def edges(self) -> list[tuple[int, str, int]]:
        """(source, colour letter, target) for every transition, for drawing."""
        return [(s, task.COLOR_LETTERS[c], int(self.transitions[s, c])) for s in range(self.n_states) for c in range(3)]

    def to_dict(self) -> dict:
        return {"n_states": self.n_states, "start": int(self.start), "accepting": sorted(self.accepting),
                "labels": list(self.labels),
                "transitions": {str(s): {task.COLOR_LETTERS[c]: int(self.transitions[s, c]) for c in range(3)}
                                for s in range(self.n_states)},
                "is_z3": self.is_z3(), "recognizes_set": self.recognizes_set()}


def canonical_steps(steps: Sequence[int]) -> tuple[int, int, int]:
    """Z3 steps up to the automorphism x -> -x: negated if needed so that the first non-zero step is 1."""
    st = [int(x) % 3 for x in steps]
    first = next((x for x in st if x), 1)
    return tuple(x if first == 1 else (-x) % 3 for x in st)  # type: ignore[return-value]


def z3_automaton(steps: Sequence[int] = (0, 1, 2)) -> Automaton:
    """The SET automaton: state = sum of colour steps mod 3, accept at 0.

    steps: the Z3 step of green, purple, red (the paper: 0, +1, -1 = 0, 1, 2).
    """
    st = [int(s) % 3 for s in steps]
    trans = np.array([[(s + st[c]) % 3 for c in range(3)] for s in range(3)])
    return Automaton(trans, 0, frozenset({0}), ("0", "+120", "-120"))


@dataclass
class Extraction:
    """An automaton read off observed class sequences.

    automaton: the minimised machine; raw: before minimisation (one state
    per phase class); counts[s, c, t]: how often class s went to class t on
    colour c; consistency: fraction of observed transitions that follow the
    majority (1.0 = the classes behave deterministically); complete: every
    (class, colour) pair was observed at least once.
    """

    automaton: Automaton
    raw: Automaton
    counts: np.ndarray = field(repr=False)
    consistency: float
    complete: bool


def extract_automaton(classes: np.ndarray, colors: np.ndarray, accept_votes: np.ndarray | None = None,
                      n_classes: int | None = None, labels: Sequence[str] = ()) -> Extraction:
    """Automaton from class sequences: classes (B x (n+1)) before and after each pulse, colors (B x n).

    The start state is the class all sequences begin in (the most common
    class in column 0). Transitions: the majority successor of each
    (class, colour). Accepting classes: those in which, at the end of the
    sequences, the majority of `accept_votes` (B,) is True (if None, only the
    start class accepts). Negative class or colour entries are ignored.
    """
    classes = np.asarray(classes, dtype=np.int64)
    colors = np.asarray(colors, dtype=np.int64)
    n = int(n_classes if n_classes is not None else classes.max() + 1)
    counts = np.zeros((n, 3, n), dtype=np.int64)
    src, dst, col = classes[:, :-1].ravel(), classes[:, 1:].ravel(), colors.ravel()
    ok = (src >= 0) & (dst >= 0) & (col >= 0)
    np.add.at(counts, (src[ok], col[ok], dst[ok]), 1)
    trans = counts.argmax(2)
    seen = counts.sum(2) > 0
    trans = np.where(seen, trans, np.arange(n)[:, None])  # unobserved: stay
    total = counts.sum()
    consistency = float(counts.max(2).sum() / total) if total else float("nan")
    start = int(np.bincount(classes[:, 0][classes[:, 0] >= 0], minlength=n).argmax())
    if accept_votes is None:
        accepting = frozenset({start})
    else:
        last = classes[np.arange(len(classes)), (classes >= 0).sum(1) - 1]
        votes = np.asarray(accept_votes, bool)
        accepting = frozenset(int(s) for s in range(n) if (last == s).any() and votes[last == s].mean() > 0.5)
    raw = Automaton(trans, start, accepting, tuple(labels) if labels else ())
    return Extraction(raw.minimized(), raw, counts, consistency, bool(seen[raw.reachable()].all()))


# ---------------------------------------------------------------- L* (AALpy)

@dataclass
class LStarResult:
    """What L* learned: the minimised automaton, the AALpy model, and the query counts.

    membership_words: words the network was run on (each answers all its
    prefixes); test_words: size of the equivalence test suite (all words of
    length `exhaustive_len` plus random longer ones up to `max_len`);
    rounds: hypotheses proposed.
    """

    automaton: Automaton
    model: object = field(repr=False)
    membership_words: int = 0
    test_words: int = 0
    rounds: int = 0

    def to_dict(self) -> dict:
        return {"states": self.automaton.n_states, "is_z3": self.automaton.is_z3(),
                "recognizes_set": self.automaton.recognizes_set(), "z3_steps": self.automaton.z3_steps(),
                "membership_words": self.membership_words, "test_words": self.test_words, "rounds": self.rounds,
                "transitions": self.automaton.to_dict()["transitions"], "accepting": sorted(self.automaton.accepting)}


def learn_lstar(oracle: PrefixOracle, exhaustive_len: int = 5, n_random: int = 200, max_len: int = 10,
                seed: int = 0) -> LStarResult:
    """Learn a DFA over {G, P, R} with AALpy's L*, answering membership queries with `oracle`.

    The oracle is batched: it gets a list of words (tuples of colour indices)
    and returns, per word, the membership of each prefix (length + 1 bools).
    The equivalence oracle compares a hypothesis with the oracle on a fixed
    test suite (all words of length `exhaustive_len`, hence all shorter ones
    as prefixes, and `n_random` random words of lengths exhaustive_len+1 ..
    max_len), evaluated in one batch up front; counterexamples are the
    shortest failing prefixes.
    """
    from aalpy.base import SUL, Oracle
    from aalpy.learning_algs import run_Lstar

    letters = task.COLOR_LETTERS
    cache: dict[Word, bool] = {}
    n_words = [0]

    def ask(words: Sequence[Word]) -> None:
        todo = [w for w in dict.fromkeys(words) if w not in cache]
        if not todo:
            return
        n_words[0] += len(todo)
        for w, ans in zip(todo, oracle(todo)):
            for k in range(len(w) + 1):
                cache.setdefault(w[:k], bool(ans[k]))

    rng = np.random.default_rng(seed)
    suite: list[Word] = [tuple(w) for w in itertools.product(range(3), repeat=exhaustive_len)]
    for _ in range(n_random):
        length = int(rng.integers(exhaustive_len + 1, max_len + 1))
        suite.append(tuple(int(c) for c in rng.integers(0, 3, length)))
    ask(suite)
    ordered = sorted({w[:k] for w in suite for k in range(len(w) + 1)}, key=lambda w: (len(w), w))

    class NetworkSUL(SUL):
        def query(self, word: tuple) -> list:
            w = tuple(task.COLOR_LETTERS.index(a) for a in word)
            ask([w])
            self.num_queries += 1
            if not w:
                return [cache[()]]
            return [cache[w[:k + 1]] for k in range(len(w))]

        def pre(self) -> None:
            pass

        def post(self) -> None:
            pass

        def step(self, letter):  # unused: query is overridden
            raise NotImplementedError

    rounds = [0]

    class SuiteOracle(Oracle):
        def find_cex(self, hypothesis):
            rounds[0] += 1
            for w in ordered:
                hypothesis.reset_to_initial()
                if not w:
                    out = hypothesis.initial_state.is_accepting
                else:
                    for a in w:
                        out = hypothesis.step(letters[a])
                if bool(out) != cache[w]:
                    return tuple(letters[a] for a in w)
            return None

    sul = NetworkSUL()
    model = run_Lstar(list(letters), sul, SuiteOracle(list(letters), sul), automaton_type="dfa", print_level=0)
    states = list(model.states)
    index = {id(s): i for i, s in enumerate(states)}
    trans = np.array([[index[id(s.transitions[a])] for a in letters] for s in states])
    aut = Automaton(trans, index[id(model.initial_state)],
                    frozenset(i for i, s in enumerate(states) if s.is_accepting)).minimized()
    return LStarResult(aut, model, n_words[0], len(suite), rounds[0])
