"""The sweep's activation axis, the follow-up's grid preset, relu networks in a sweep group, and committing
finished rows to git as the sweep goes."""
import json
import subprocess

import pandas as pd
import pytest

from setdyn import cli, weights
from setdyn.sweep import commit, grid, run, table, worker
from setdyn.training import TrainConfig, train_batched


def test_ids_of_tanh_networks_are_unchanged():
    """The shipped table's ids were made before TrainConfig had an activation field: the same ids come back."""
    df = table.load_shipped()
    for _, row in df.head(12).iterrows():
        assert grid.net_id(TrainConfig.from_dict(json.loads(row["config"]))) == row["id"]


def test_followup_preset_and_activation_axis():
    pre = grid.PRESETS["followup"]
    cfgs = grid.configs(grid.parse_seeds(pre.seeds), pre.alphas, pre.noises, activations=pre.activations,
                        paper_first=True)
    assert len(cfgs) == pre.size == 90
    cells = pd.Series([(c.alpha, c.noise_std, c.activation) for c in cfgs]).value_counts()
    assert len(cells) == 18 and (cells == 5).all()
    ids = [grid.net_id(c) for c in cfgs]
    assert len(set(ids)) == 90 and sum("_relu_" in i for i in ids) == 45
    assert (cfgs[0].alpha, cfgs[0].noise_std, cfgs[0].activation) == (*grid.PAPER_CELL, "tanh")
    assert grid.parse_activations("tanh, relu,tanh") == ["tanh", "relu"]
    with pytest.raises(ValueError, match="tanh, relu"):
        grid.parse_activations("tanh,sigmoid")
    assert cli.main(["sweep", "--out", "x", "--activation", "sigmoid"]) == 2
    args = cli.parser().parse_args(["sweep", "--out", "x", "--preset", "followup", "--commit-rows", "600"])
    assert args.preset == "followup" and args.commit_rows == 600


def test_batched_trainer_refuses_relu():
    with pytest.raises(ValueError, match="tanh only"):
        train_batched([TrainConfig(activation="relu", max_epochs=1)], progress=False)


def test_a_group_with_tanh_and_relu(tmp_path):
    cfgs = [TrainConfig(seed=s, activation=f, max_epochs=1, fresh_draws=1) for s, f in ((0, "tanh"), (0, "relu"))]
    rows = worker.train_group([c.to_dict() for c in cfgs], str(tmp_path), slots=2, analyze=False)
    assert sorted(r["activation"] for r in rows) == ["relu", "tanh"]
    for c in cfgs:
        path = tmp_path / "nets" / f"{grid.net_id(c)}.safetensors"
        assert weights.load(path).activation_name == c.activation
        assert (tmp_path / "rows" / f"{grid.net_id(c)}.json").is_file()


def _git(path, *args):
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, check=True).stdout


def test_commit_rows_commits_only_the_sweep(tmp_path):
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "user.email", "t@example.org")
    _git(tmp_path, "config", "user.name", "t")
    (tmp_path / "other.txt").write_text("not part of the sweep")
    _git(tmp_path, "add", "other.txt")
    out = tmp_path / "sweep"
    table.write_row({"id": "a1_n0_s0_x", "seed": 0}, out)
    assert commit.commit_rows(out, "sweep: 1 row")
    assert _git(tmp_path, "log", "--format=%s").strip() == "sweep: 1 row"
    assert _git(tmp_path, "show", "--name-only", "--format=").split() == ["sweep/rows/a1_n0_s0_x.json"]
    assert "other.txt" in _git(tmp_path, "diff", "--cached", "--name-only")  # left staged, not committed
    assert not commit.commit_rows(out, "nothing new")
    with pytest.raises(ValueError, match="git work tree"):  # /tmp is not inside a repository
        commit.check_repository(tmp_path.parent / f"{tmp_path.name}_nogit")


def test_a_sweep_commits_its_rows_and_a_fresh_clone_resumes(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.org")
    _git(repo, "config", "user.name", "t")
    cfgs = grid.configs([0], [1.0], [0.1], epochs=1, activations=["relu"])
    run.run_sweep(cfgs, repo / "sw", jobs=1, analyze=False, progress=False, commit_every_s=0)
    assert "1 of 1 networks finished" in _git(repo, "log", "--format=%s")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    # the clone has the row: nothing to train, so no scheduler is contacted
    again = run.run_sweep(cfgs, clone / "sw", scheduler="tcp://127.0.0.1:9", analyze=False, progress=False)
    assert list(again["id"]) == [grid.net_id(cfgs[0])] and again["activation"][0] == "relu"


def test_a_stopped_sweep_keeps_and_commits_what_finished(tmp_path, monkeypatch):
    """Ctrl-C between polls: the rows that workers wrote since the last poll go into sweep.csv and into a
    commit, so that a fresh clone resumes from them (an interrupted run once left its table a row short)."""
    import time

    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.org")
    _git(repo, "config", "user.name", "t")
    out = repo / "sw"

    def interrupt_after_a_row(futures, timeout):
        deadline = time.monotonic() + 120
        while not list((out / "rows").glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.2)
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "_wait_any", interrupt_after_a_row)
    # two groups on one worker, one after the other: the sweep cannot be finished when the loop first polls
    cfgs = grid.configs([0, 1], [1.0], [0.1], epochs=1, activations=["relu"])
    with pytest.raises(KeyboardInterrupt):
        run.run_sweep(cfgs, out, jobs=1, group=1, analyze=False, progress=False, commit_every_s=10**6)
    rows = {p.stem for p in (out / "rows").glob("*.json")}
    assert rows and rows <= {grid.net_id(c) for c in cfgs}
    assert set(pd.read_csv(out / table.CSV_NAME)["id"]) == rows
    assert _git(repo, "log", "--format=%s").strip() == f"sweep sw: {len(rows)} of 2 networks finished (stopped)"
    committed = _git(repo, "show", "--name-only", "--format=").split()
    assert all(f"sw/rows/{r}.json" in committed and f"sw/nets/{r}.safetensors" in committed for r in rows)
