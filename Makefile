# The commands people type. Every target creates .venv from requirements.txt
# when it is missing or older than requirements.txt.
SHELL := /bin/bash
PY := .venv/bin/python
export OMP_NUM_THREADS ?= 1

.PHONY: book test train pretrained bench sweep followup paper-setting clean

.venv/.stamp: requirements.txt
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

book: .venv/.stamp
	$(PY) -m setdyn.book.build

# Test processes (pytest-xdist; each test file stays in one process). The book builds in the
# background from the start, and its tests run last.
TEST_JOBS ?= 2
test: .venv/.stamp
	$(PY) -m pytest -q -n $(TEST_JOBS) --dist loadfile tests

# Retrain the shipped model from its recorded config (seed, hyperparameters) into
# _build/retrained, then say which case holds: on the kind of machine the shipped file
# records, the retrained file must be bit for bit the same; on another kind (or an unknown
# one), float32 rounding differs in the last bits, the first epochs must agree within a
# stated tolerance and the network is judged by its accuracy and limit cycle instead.
train: .venv/.stamp
	$(PY) -m setdyn train --config setdyn/data/pretrained.json --out _build/retrained
	$(PY) -m setdyn.reproduce _build/retrained/model.safetensors

# Rerun the seed search that chose the shipped model (overwrites setdyn/data/pretrained.*).
pretrained: .venv/.stamp
	$(PY) -m setdyn search-seed --out setdyn/data --engine autograd

bench: .venv/.stamp
	$(PY) benchmarks/train_speed.py
	$(PY) benchmarks/ensemble_speed.py
	$(PY) benchmarks/sweep_throughput.py
	$(PY) benchmarks/dsa_cost.py --sizes 32,64,128,256 --score-method wasserstein
	$(PY) benchmarks/dsa_cost.py --sizes 2,4,8 --score-method angular

# Train and classify many networks (seeds x alpha x noise); resumable; ships setdyn/data/sweep*.
sweep: .venv/.stamp
	$(PY) -m setdyn sweep --seeds 0-7 --cell-seeds 1.0,0.1:0-31 --alpha 1.0,0.5,0.1 --noise 0,0.05,0.1 --slots 8 --out _build/sweep --ship

# The follow-up paper's grid (alpha x noise x tanh/relu x 5 seeds = 90 networks), for the map of solutions.
# It spans sessions: every 10 minutes the finished rows and weights are committed to git
# (sweeps/followup), and the same command on a fresh clone resumes where the last one stopped.
followup: .venv/.stamp
	$(PY) -m setdyn sweep --preset followup --out sweeps/followup --jobs 2 --slots 8 --commit-rows 600

# More seeds of the paper's own setting (224 networks, about 8 core-hours), for the fraction of phase codes
# in chapter 7; committed as it goes, like followup.
paper-setting: .venv/.stamp
	$(PY) -m setdyn sweep --preset paper-setting --out sweeps/paper_setting --jobs 2 --slots 8 --commit-rows 600

clean:
	rm -rf _build
