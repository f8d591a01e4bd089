"""``python -m setdyn map``: the map of solutions, every trained network placed by its dynamics.

Reads sweep folders (DIR/rows/ID.json with the taxonomy label, DIR/nets/ID.safetensors; by default
`SWEEPS`: the 31 other seeds of the paper's recipe and the follow-up paper's grid, as far as it has
run) and the book's own network. Every network runs noise-free on the follow-up's shared trial set
(`dsa_map.map_trials`), reduced to its own first 10 PCs; DSA compares every pair
(`dsa_map.dsa_distances`) and MDS embeds the distances in the plane (`dsa_map.embed`).
`dsa_map.knn_agreement` says whether the map means something: how often a network's nearest
neighbour has its label, against shuffled labels.

Each network carries its setting, its label with the evidence in words, and a compact detail for the
map's click panel: rates PC1 and PC2 (its own PCs) and the output z of the 27 sequences at the
default onsets, every `DETAIL_STEP_MS` ms, quantised to int8 (`setdyn.viz.solution_map.encode_detail`).

DSA's score: `SCORE_METHOD` = wasserstein, dsa-metric 2.x's default, which compares the DMD
eigenvalue spectra (milliseconds per pair here), instead of the follow-up's angular Procrustes
distance (seconds per pair). ``--check-angular N`` computes
the angular distance on N networks chosen across labels and reports the rank correlation of the two
scores on those pairs, so the substitution is measured, not assumed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from . import validate
from .errors import CliError
from .output import write_json
from .prose import count_words
from .viz.solution_map import MAP_FILE, encode_detail

ROOT = Path(__file__).resolve().parent
#: The sweep folders the map reads by default (repository-relative), and each one's source name.
SWEEPS: dict[str, str] = {"sweeps/paper_seeds": "paper-seeds", "sweeps/followup": "followup",
                          "sweeps/paper_setting": "paper-setting"}
#: Where the map is shipped (one path, the viewer's).
SHIPPED_MAP = MAP_FILE
#: DSA's score for the whole map (see the module docstring).
SCORE_METHOD = "wasserstein"
#: The scores' names in prose.
SCORE_NAMES = {"wasserstein": "Wasserstein", "angular": "angular Procrustes"}
#: Sampling of the click panel's traces (ms).
DETAIL_STEP_MS = 20
#: Fields of a sweep row the map keeps.
ROW_FIELDS = ("id", "seed", "alpha", "noise_std", "activation", "taxon", "taxon_reason", "fresh_acc_clean",
              "period_ms", "free_run")

HELP = "place every trained network on a map by its dynamics (DSA + MDS), coloured by mechanism"


def load_networks(sweeps: dict[Path, str], reference: Any = None) -> list[tuple[dict[str, Any], Any]]:
    """(row, model) of every network of the sweep folders with a row and weights, then the paper's own
    network when `reference` (a `setdyn.reference.Reference`) is given, and the book's own network last; a
    row without a taxonomy label is refused (reanalyse that sweep first)."""
    import torch

    from . import weights
    from .sweep.worker import reanalyze_one

    out = []
    for folder, source in sweeps.items():
        for path in sorted((folder / "rows").glob("*.json")):
            row = json.loads(path.read_text())
            net = folder / "nets" / f"{row['id']}.safetensors"
            if not net.is_file():
                continue  # trained elsewhere (a remote worker without --shared-fs): no weights here
            if not row.get("taxon"):
                raise ValueError(f"{path} has no taxonomy label ({row.get('taxon_error', 'not analysed')}); "
                                 f"run python -m setdyn sweep --reanalyze --out {folder}")
            # the id names the source too: a config can sit in two sweeps (the follow-up grid's paper cell is
            # the paper's recipe with seeds 0-4), trained by different engines into different networks
            out.append(({**{k: row.get(k) for k in ROW_FIELDS}, "id": f"{source}/{row['id']}", "row_id": row["id"],
                         "source": source},
                        weights.load(net, dtype=torch.float64)))
    if reference is not None:
        out.append(paper_network(reference))
    book = reanalyze_one(str(weights.PRETRAINED))
    out.append(({**{k: book.get(k) for k in ROW_FIELDS}, "id": "book", "row_id": book["id"], "source": "book"},
                weights.load()))
    return out


def paper_network(reference: Any) -> tuple[dict[str, Any], Any]:
    """(row, model) of the paper's own trained network (`setdyn.reference.Reference`, read from the
    reference repository's files, which are never copied here), classified like a sweep row: the paper's
    recipe, with its accuracies measured here (`setdyn.reference.accuracies`)."""
    from . import reference as ref_mod
    from .sweep.worker import analyze_network
    from .training import TrainConfig

    cfg = TrainConfig()
    accuracy = ref_mod.accuracies(reference)
    row = {**accuracy, **analyze_network(reference.model, cfg, accuracy)}
    row.update(seed=None, alpha=cfg.alpha, noise_std=cfg.noise_std, activation=cfg.activation)
    return ({**{k: row.get(k) for k in ROW_FIELDS}, "id": "paper", "row_id": None, "source": "paper"},
            reference.model)


def detail(model: Any) -> tuple[Any, Any, Any]:
    """Rates PC1, PC2 (the network's own PCs of these trials, `dsa_map.pc_rates`) and output z of the 27
    sequences at the default onsets, every `DETAIL_STEP_MS` ms from 20 to 500 ms: three arrays 27 x T."""
    import torch

    from . import task
    from .analysis import dsa_map

    trials = task.test_set()
    pcs = dsa_map.pc_rates(model, trials, n_pcs=2)
    with torch.no_grad():
        z = model.run(trials.codes).outputs.double().numpy()
    keep = slice(int(round(DETAIL_STEP_MS / task.DT_MS)) - 1, None, int(round(DETAIL_STEP_MS / task.DT_MS)))
    return pcs[:, keep, 0], pcs[:, keep, 1], z[:, keep]


def stratified(labels: Sequence[str], n: int) -> list[int]:
    """n indices spread over the labels: round robin over the labels (most common first), each label's
    networks in order."""
    by: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        by.setdefault(lab, []).append(i)
    queues = sorted(by.values(), key=len, reverse=True)
    picked: list[int] = []
    while len(picked) < min(n, len(labels)):
        for q in queues:
            if q and len(picked) < n:
                picked.append(q.pop(0))
    return sorted(picked)


def _repo_path(folder: Path) -> str:
    """A sweep folder as the shipped map records it: relative to the repository when inside it (the same on
    every machine), else as given."""
    try:
        return Path(folder).resolve().relative_to(ROOT.parent.resolve()).as_posix()
    except ValueError:
        return str(folder)


def build(sweeps: dict[Path, str], check_angular: int = 0, progress: bool = True,
          reference: Any = None) -> dict[str, Any]:
    """The map's data (schema in `setdyn.viz.solution_map`): networks with coordinates and detail, the
    kNN agreement, and the angular check on `check_angular` networks (0: none). `reference`: put the
    paper's own network on the map too (`paper_network`)."""
    import numpy as np
    from scipy.stats import spearmanr
    from tqdm.auto import tqdm

    from . import task
    from .analysis import dsa_map
    from .analysis.taxonomy import LABELS

    nets = load_networks(sweeps, reference)
    if len(nets) < 3:
        raise ValueError(f"a map needs at least 3 networks, found {len(nets)} in {', '.join(map(str, sweeps))}")
    trials = dsa_map.map_trials()
    data = [dsa_map.pc_rates(m, trials) for _, m in tqdm(nets, desc="rates", disable=not progress)]
    start = time.perf_counter()
    dist = dsa_map.dsa_distances(data, score_method=SCORE_METHOD)
    seconds = time.perf_counter() - start
    xy = dsa_map.embed(dist)
    labels = [row["taxon"] for row, _ in nets]
    networks = []
    for (row, model), (x, y) in zip(nets, xy):
        networks.append({**row, "x": float(x), "y": float(y), "detail": encode_detail(*detail(model))})
    knn = dsa_map.knn_agreement(dist, labels)
    # labels follow alpha (slow neurons learn other ways) and DSA sees timescales: chance within each alpha too
    knn_alpha = dsa_map.knn_agreement(dist, labels, strata=[row["alpha"] for row, _ in nets])
    out: dict[str, Any] = {
        "schema": "setdyn-solution-map/1", "labels": list(LABELS),
        "sequences": [task.sequence_name(c) for c in task.all_combinations()],
        "valid": [task.is_valid_set(c) for c in task.all_combinations()],
        "t_ms": list(range(DETAIL_STEP_MS, int(task.N_STEPS * task.DT_MS) + 1, DETAIL_STEP_MS)),
        "method": {"score_method": SCORE_METHOD, "dsa": dsa_map.DSA_PARAMS, "n_pcs": dsa_map.N_PCS,
                   "trials": len(trials), "mds_seed": dsa_map.MDS_SEED, "dsa_seconds": seconds,
                   "sweeps": {_repo_path(k): v for k, v in sweeps.items()}},
        "knn": vars(knn), "knn_within_alpha": vars(knn_alpha), "networks": networks,
        "distances": np.round(dist, 8).tolist()}
    out["examples"] = examples_block(out, [m for _, m in nets])
    if check_angular:
        idx = stratified(labels, check_angular)
        start = time.perf_counter()
        ang = dsa_map.dsa_distances([data[i] for i in idx], score_method="angular")
        seconds = time.perf_counter() - start
        iu = np.triu_indices(len(idx), 1)
        rho = spearmanr(ang[iu], dist[np.ix_(idx, idx)][iu]).statistic
        out["angular_check"] = {"ids": [nets[i][0]["id"] for i in idx], "pairs": len(iu[0]),
                                "spearman": float(rho), "angular": ang.tolist(),
                                "seconds_per_pair": seconds / len(iu[0])}
    return out


def examples_block(data: dict[str, Any], models: Sequence[Any]) -> dict[str, Any]:
    """One typical network per label (`setdyn.solution_space.examples`: the medoid by DSA distance) and its
    phase portrait with fixed and slow points (`setdyn.sweep.ship.portraits`), in the map's order of
    `models`: ``{"ids": {label: id}, "portraits": {"columns": [...], "data": [[...], ...]}}``."""
    from . import solution_space
    from .sweep.ship import portraits

    picks = solution_space.examples(data)
    ids = {lab: data["networks"][i]["id"] for lab, i in picks.items()}
    por = portraits([(ids[lab], lab, models[i]) for lab, i in picks.items()], slow_points=True)
    por = por.round(5).astype(object).where(por.notna(), None)
    return {"ids": ids, "portraits": {"columns": list(por.columns), "data": por.to_numpy().tolist()}}


#: p-values of the nearest-neighbour test: below the first the map groups networks by label; up to the
#: second, only weakly (a verdict that one more network could flip is not stated as a plain yes).
KNN_CLEAR, KNN_WEAK = 0.01, 0.1


def summary(data: dict[str, Any]) -> dict[str, Any]:
    """The chapter's numbers and the words they choose (keys prefixed ``map_``)."""
    from collections import Counter

    from .sweep.grid import PRESETS

    nets = data["networks"]
    by_source = Counter(n["source"] for n in nets)
    counts = Counter(n["taxon"] for n in nets)
    order = [lab for lab in data["labels"] if counts[lab]]
    largest = max(order, key=lambda lab: (counts[lab], -order.index(lab)))
    knn = data["knn"]
    strict = data.get("knn_within_alpha", knn)  # the verdict rests on the stricter test, labels shuffled within alpha
    out: dict[str, Any] = {
        "map_n": len(nets), "map_n_seeds": by_source["paper-seeds"], "map_n_followup": by_source["followup"],
        "map_followup_total": PRESETS["followup"].size, "map_n_paper": by_source["paper"],
        "map_grid_status": "in full" if by_source["followup"] >= PRESETS["followup"].size else "so far",
        "map_n_setting": by_source["paper-setting"],
        "map_setting_total": PRESETS["paper-setting"].size,
        "map_setting_text": count_words(by_source["paper-setting"], PRESETS["paper-setting"].size, "further seeds"),
        "map_paper_text": ("the paper's own network" if by_source["paper"] else
                           "not the paper's own network (its files were not at hand)"),
        "map_labels_text": ", ".join(f"{counts[lab]} {lab}" for lab in sorted(order, key=lambda lab: -counts[lab])),
        "map_n_unlabelled": counts["unlabelled"], "map_largest": largest, "map_largest_n": counts[largest],
        "map_unlabelled_verdict": ("every network fits one of the definitions" if not counts["unlabelled"] else
                                   "“unlabelled” is the largest class" if largest == "unlabelled" else
                                   f"only {counts['unlabelled']} fit none of the definitions, so “unlabelled” is "
                                   "not the largest class"),
        "map_knn_pct": 100 * knn["observed"], "map_knn_chance_pct": 100 * knn["chance_mean"],
        "map_knn_p": knn["p_value"], "map_knn_permutations": knn["n_permutations"],
        "map_knn_verdict": ("the map groups networks by mechanism" if strict["p_value"] < KNN_CLEAR else
                            "the map groups networks by mechanism only weakly, at the edge of what shuffled "
                            "labels reach" if strict["p_value"] < KNN_WEAK else
                            "on this evidence the map does not group networks by mechanism"),
        "map_knn_alpha_chance_pct": 100 * strict["chance_mean"], "map_knn_alpha_p": strict["p_value"],
        "map_score_method": SCORE_NAMES.get(data["method"]["score_method"], data["method"]["score_method"]),
    }
    failed = [n for n in nets if n["taxon"] == "not-learned"]
    cycling = sum(n.get("free_run") == "limit cycle" for n in failed)
    out["map_n_not_learned"] = len(failed)
    out["map_not_learned_cycle"] = ("all" if failed and cycling == len(failed) else "none" if not cycling
                                    else str(cycling))
    book = next(n for n in nets if n["source"] == "book")
    out["map_book_label"] = book["taxon"]
    check = data.get("angular_check")
    if check:
        rho = check["spearman"]
        out.update({"map_angular_n": len(check["ids"]), "map_angular_pairs": check["pairs"], "map_angular_rho": rho,
                    "map_angular_s_per_pair": check["seconds_per_pair"],
                    "map_dsa_ms_per_pair": 1e3 * data["method"]["dsa_seconds"] / max(1, len(nets) * (len(nets) - 1) // 2),
                    "map_angular_verdict": ("the two scores order the pairs much alike" if rho >= 0.7 else
                                            "the two scores order the pairs only loosely alike" if rho >= 0.4 else
                                            "the two scores order the pairs differently: read the map with care")})
    return out


def handle(args: argparse.Namespace) -> None:
    try:
        validate.whole(args.check_angular, "--check-angular (networks)", 0, 64)
        folders = [Path(p) for p in args.sweeps.split(",") if p.strip()] if args.sweeps else \
            [ROOT.parent / p for p in SWEEPS if (ROOT.parent / p / "rows").is_dir()]  # the ones begun so far
        for f in folders:
            if not (f / "rows").is_dir():
                raise ValueError(f"{f} is not a sweep folder (no {f / 'rows'}); give folders written by "
                                 "python -m setdyn sweep --out DIR")
        sweeps = {f: SWEEPS.get(f"sweeps/{f.name}", f.name) for f in folders}
        reference = None
        if args.reference != "none":
            from .fidelity import load_reference_if_present, reference_dir
            where = Path(args.reference) if args.reference else reference_dir()
            reference = load_reference_if_present(where)
            if reference is None and args.reference:
                raise ValueError(f"--reference {args.reference}: the reference repository's files are not there "
                                 "(data_540.jls, data_27.jls, model_31.jls); give their folder, or none")
            if reference is None:
                print(f"the paper's network is not on the map: no reference files in {where} "
                      "(--reference DIR names them)", file=sys.stderr)
        data = build(sweeps, check_angular=args.check_angular, reference=reference)
    except ValueError as e:
        raise CliError(str(e)) from None
    dest = write_json(args.out, data)
    knn = data["knn"]
    print(f"wrote {dest}: {len(data['networks'])} networks; nearest neighbour shares the label "
          f"{knn['observed']:.0%} (shuffled {knn['chance_mean']:.0%}, p = {knn['p_value']:.3f})", file=sys.stderr)


def register(subparsers: Any) -> None:
    """Add the ``map`` subcommand to `setdyn.cli`'s subparsers."""
    p = subparsers.add_parser("map", help=HELP)
    p.add_argument("--sweeps", help="comma-separated sweep folders (default: " + ", ".join(SWEEPS) + ")")
    p.add_argument("--out", default=str(SHIPPED_MAP), help="the map's JSON (default: the shipped one)")
    p.add_argument("--check-angular", type=int, default=0, metavar="N",
                   help="also compute the follow-up's angular DSA on N networks across labels (seconds a pair)")
    p.add_argument("--reference", default="", metavar="DIR",
                   help="folder of the reference repository's files, to put the paper's own network on the map "
                        "(default: $SETDYN_REFERENCE_DIR or ../shared/reference when present; none: leave it off)")
    p.set_defaults(func=handle)


__all__ = ["DETAIL_STEP_MS", "KNN_CLEAR", "KNN_WEAK", "SCORE_METHOD", "SHIPPED_MAP", "SWEEPS", "build", "detail", "examples_block",
           "load_networks", "paper_network", "register", "stratified", "summary"]
