"""Three small helpers shared by the analysis, the figures and the book: angle wrap, R^2, JSON values.

Light on purpose (NumPy only), so that plotting and book code can use them
without importing the simulation stack.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np


def wrap_deg(angle_deg: np.ndarray | float) -> np.ndarray:
    """Angles in degrees wrapped to [-180, 180) (any shape; returns a float array, 0-d for a scalar)."""
    return (np.asarray(angle_deg, dtype=float) + 180.0) % 360.0 - 180.0


def r_squared(y: np.ndarray, yhat: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot of a prediction yhat for data y.

    All samples are pooled (y and yhat of any equal shape, e.g. trials x
    times). NaN when y is constant.
    """
    y = np.asarray(y, float).ravel()
    yhat = np.asarray(yhat, float).ravel()
    ss = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - yhat) ** 2).sum()) / ss if ss > 0 else float("nan")


def jsonable(obj: Any) -> Any:
    """A value JSON can write: NumPy scalars and arrays -> Python numbers and lists, recursively.

    Dict keys become strings, tuples lists, NaN and infinities None, and a
    complex number the pair [real, imag]; anything else is returned as it is.
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, (complex, np.complexfloating)):
        return [jsonable(obj.real), jsonable(obj.imag)]
    return obj


def first_differing_digit(a: float, b: float) -> int | None:
    """The first significant digit (1 = the leading one) at which a and b, each written with the fewest
    digits that read back as the same float (Python's repr), differ; None when they are equal.

    1.1103753805160523 vs 1.1103753328323365 -> 9 (they agree to 8 digits). Numbers of different sign or
    decimal exponent differ at the 1st.
    """
    if a == b:
        return None
    da, db = Decimal(repr(float(a))), Decimal(repr(float(b)))
    if da.is_signed() != db.is_signed() or da.is_zero() or db.is_zero() or da.adjusted() != db.adjusted():
        return 1
    xa, xb = da.as_tuple().digits, db.as_tuple().digits
    xa, xb = (x[next((i for i, d in enumerate(x) if d), 0):] for x in (xa, xb))  # no leading zeros
    n = max(len(xa), len(xb))
    xa, xb = xa + (0,) * (n - len(xa)), xb + (0,) * (n - len(xb))
    return next(i + 1 for i, (x, y) in enumerate(zip(xa, xb)) if x != y)
