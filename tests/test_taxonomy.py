"""The taxonomy on constructed examples with known structure, and on the shipped network."""
import numpy as np
import torch

from setdyn import weights
from setdyn.analysis import taxonomy as tx
from setdyn.model import CTRNN
from setdyn.training import TrainConfig

N = 10


class PlaneMap:
    """A 2-D map with attractors at given centres, embedded in `n` dims: the plane coordinates y = E^T x move a
    fraction `h` of the way to the Gaussian-weighted mean of the centres (each centre a stable fixed point);
    the other directions halve every step."""

    def __init__(self, centres, n=12, sigma=0.35, h=0.5, seed=0):
        rng = np.random.default_rng(seed)
        self.E = torch.as_tensor(np.linalg.qr(rng.standard_normal((n, 2)))[0])
        self.c = torch.as_tensor(np.asarray(centres, float))
        self.sigma, self.h = sigma, h
        self.x0 = torch.as_tensor(0.3 * rng.standard_normal(n))

    def input_table(self):
        return torch.zeros(4, self.E.shape[0], dtype=torch.float64)

    def activation(self, x):
        return x

    def readout(self, r):
        return r[..., 0]

    def step(self, x, drive):
        y = x @ self.E
        d = y[:, None, :] - self.c[None]
        w = torch.exp(-(d ** 2).sum(-1) / (2 * self.sigma ** 2))
        pull = (w[..., None] * d).sum(1) / (w.sum(1, keepdim=True) + 1e-12)
        return (y - self.h * pull) @ self.E.T + 0.5 * (x - y @ self.E.T) + drive

    def starts(self, n=64, seed=1):
        rng = np.random.default_rng(seed)
        c = self.c.numpy()
        return (c[rng.integers(len(c), size=n)] + 0.2 * rng.standard_normal((n, 2))) @ self.E.numpy().T \
            + 0.05 * rng.standard_normal((n, self.E.shape[0]))


def ctrnn(J, activation="tanh", x0=None):
    n = len(J)
    m = CTRNN(np.eye(3, n), n_units=n, dtype=torch.float64, activation=activation)
    with torch.no_grad():
        m.J.copy_(torch.as_tensor(J))
        m.b.zero_()
        m.B.zero_()
        m.x0.copy_(torch.as_tensor(x0))
    return m


def rotation(theta, gain):
    """J: gain x the rotation by theta in the plane of units 0 and 1, zero elsewhere."""
    J = np.zeros((N, N))
    J[:2, :2] = gain * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return J


X0 = np.r_[1.0, 0.0, 0.3, np.zeros(N - 3)]
STARTS = np.random.default_rng(1).standard_normal((64, N))


def test_hexagon():
    ang = np.radians(np.arange(6) * 60)
    m = PlaneMap(np.c_[np.cos(ang), np.sin(ang)])
    ev = tx.measure(m, starts=m.starts(), settle_steps=300, window_steps=300)
    assert ev.n_stable == 6 and ev.stable.hexagon_gap_error < 0.05
    assert tx.label_from_evidence(ev)[0] == "hexagon"


def test_lattice_and_a_distorted_one():
    grid = np.array([(i, j) for i in range(3) for j in range(3)], float)
    m = PlaneMap(grid)
    ev = tx.measure(m, starts=m.starts(), settle_steps=300, window_steps=300)
    assert ev.n_stable == 9 and ev.stable.lattice_extent == (3, 3)
    assert tx.label_from_evidence(ev)[0] == "lattice"
    # the same nine points scattered off the grid are neither a lattice nor a hexagon
    bent = grid + np.random.default_rng(3).uniform(-0.3, 0.3, grid.shape)
    g = tx.point_geometry(bent @ m.E.numpy().T)
    assert g.lattice_error > tx.LATTICE_MAX_ERROR and not tx.is_lattice(g) and not tx.is_hexagon(g)


def test_star_is_a_three_step_cycle():
    m = ctrnn(rotation(2 * np.pi / 3, 2.0), x0=X0)
    ev = tx.measure(m, starts=STARTS)
    assert ev.free_run == "fast cycle" and abs(ev.period_steps - 3) < 0.2
    assert tx.label_from_evidence(ev)[0] == "star"


def test_slow_rotation_is_a_limit_cycle_not_a_star():
    m = ctrnn(rotation(2 * np.pi / 25, 1.6), x0=X0)
    ev = tx.measure(m, starts=STARTS)
    assert ev.free_run == "limit cycle" and ev.period_steps > 20
    label, reason = tx.label_from_evidence(ev)
    assert label == "unlabelled" and "no task evidence" in reason  # a cycle, but no kicks were measured
    ev.learned, ev.z3_explains, ev.z3_phase_agreement_27 = True, True, 27
    assert tx.label_from_evidence(ev)[0] == "phase-code"


def test_line_attractor():
    """relu network with J = u u^T (u > 0): every x = s u, s > 0, is a fixed point (eigenvalue 1 along u,
    0 across it)."""
    u = np.abs(np.random.default_rng(1).standard_normal(N)) + 0.2
    u /= np.linalg.norm(u)
    m = ctrnn(np.outer(u, u), activation="relu", x0=2 * u)
    ev = tx.measure(m, starts=2 * np.abs(STARTS))
    assert ev.slow.n_slow >= 20 and ev.slow.pc1_fraction > 0.99 and ev.slow.max_gap < 0.25
    assert tx.label_from_evidence(ev)[0] == "line-attractor"
    # with J = 0.8 u u^T the line collapses onto one fixed point (0): no line
    ev = tx.measure(ctrnn(0.8 * np.outer(u, u), activation="relu", x0=2 * u), starts=2 * np.abs(STARTS))
    assert not tx.is_line(ev.slow)


def test_rule_order_and_definitions():
    assert set(tx.DEFINITIONS) == set(tx.LABELS)
    g0 = tx.PointGeometry(0, None, None, None, None, None)
    s0 = tx.SlowGeometry(0, None, None, None)
    ev = tx.TaxonomyEvidence("fast cycle", 3.0, 0, 0, g0, s0, 1.0, learned=False, fresh_acc_clean=0.5)
    assert tx.label_from_evidence(ev)[0] == "not-learned"
    ev.learned = True
    assert tx.label_from_evidence(ev)[0] == "star"
    ev.period_steps = 7.0  # a 70 ms cycle is not a star; with nothing else found and no attractor: transient
    assert tx.label_from_evidence(ev)[0] == "transient"
    ev.free_run, ev.n_stable, ev.basin_purity, ev.fraction_ending_on_fixed_points = "fixed point", 3, 1.0, 1.0
    assert tx.label_from_evidence(ev)[0] == "fixed-points"
    # pure basins, but most trials do not end on the fixed points: unlabelled, and the reason says which test failed
    ev.fraction_ending_on_fixed_points, ev.basin_purity = 0.6667, 0.99259
    label, reason = tx.label_from_evidence(ev)
    assert label == "unlabelled" and "67% of end states relax onto them" in reason and "purity 0.993" in reason


def test_relabel_rewrites_rows_from_their_evidence(tmp_path):
    """sweep --relabel: a row whose label or reason is stale is labelled again from its recorded evidence."""
    import json
    import shutil

    from setdyn.book.build import ROOT
    from setdyn.cli import main

    src = sorted((ROOT / "sweeps" / "paper_seeds" / "rows").glob("*.json"))[:2]
    (tmp_path / "rows").mkdir()
    for f in src:
        shutil.copy(f, tmp_path / "rows")
    stale = json.loads(src[0].read_text())
    want = (stale["taxon"], stale["taxon_reason"])
    stale.update(taxon="star", taxon_reason="an old rule's words")
    (tmp_path / "rows" / src[0].name).write_text(json.dumps(stale))
    assert main(["sweep", "--relabel", "--out", str(tmp_path)]) == 0
    fixed = json.loads((tmp_path / "rows" / src[0].name).read_text())
    assert (fixed["taxon"], fixed["taxon_reason"]) == want
    assert (tmp_path / "sweep.csv").is_file()


def test_shipped_network_is_a_phase_code():
    meta = weights.load_meta()
    tax = tx.classify(weights.load(), TrainConfig.from_dict(meta["config"]), meta.get("accuracy"))
    assert tax.label == "phase-code", tax.reason
    assert tax.evidence.z3_phase_agreement_27 == 27 and 20 < tax.evidence.period_steps < 30
    assert not tx.is_line(tax.evidence.slow)
