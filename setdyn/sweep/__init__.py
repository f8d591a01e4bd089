"""Sweeps: train many networks over seeds, alpha (dt / tau) and recurrent noise,
classify each one's mechanism, and count how often each mechanism appears.

    python -m setdyn sweep --seeds 0-31 --alpha 1.0,0.5,0.1 --noise 0,0.05,0.1 --out DIR \\
        [--epochs N] [--scheduler ADDRESS] [--jobs 2] [--slots 16]

(also ``python -m setdyn.sweep ...``). One module per job:

* `setdyn.sweep.grid`: the grid of settings (one `TrainConfig` per network),
  its parsing from the command line, and each network's id;
* `setdyn.sweep.worker`: the unit of work inside a Dask worker, a group of
  networks trained together by the batched trainer and analysed as each
  finishes;
* `setdyn.sweep.run`: the orchestration (a local Dask cluster or an existing
  scheduler; resumable) and re-analysis of trained networks;
* `setdyn.sweep.table`: the table (``DIR/sweep.csv``, one row per network),
  the shipped copy the book reads, and the split of "other" by its reason;
* `setdyn.sweep.stats`: the chapter's numbers (fractions with 95% Wilson
  intervals per (alpha, noise) cell, and the rest of chapter 7's numbers);
* `setdyn.sweep.figures`: the chapter's plotly figures;
* `setdyn.sweep.ship`: writes the chapter's data from a sweep directory;
* `setdyn.sweep.cli`: the ``sweep`` subcommand (registered by `setdyn.cli`).

Running a sweep on a Dask cluster or on SLURM: the book's appendix
(``book/machinery.md``, section "Sweeps").

This package imports none of its modules here, so ``import setdyn.sweep.table``
stays light; import the module you need.
"""
