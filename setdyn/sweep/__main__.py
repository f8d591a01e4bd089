"""`python -m setdyn.sweep ...`: the same as `python -m setdyn sweep ...`."""
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

from .cli import main  # noqa: E402 - after OMP_NUM_THREADS, which torch reads at import

sys.exit(main())
