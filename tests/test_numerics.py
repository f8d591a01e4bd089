"""The shared helpers of setdyn.numerics: angle wrap, R^2, JSON values."""
import json
import math

import numpy as np
import pytest

from setdyn.numerics import first_differing_digit, jsonable, r_squared, wrap_deg


def test_wrap_deg_maps_onto_minus_180_to_180():
    a = np.array([-540.0, -181.0, -180.0, -0.5, 0.0, 179.9, 180.0, 359.0, 720.0 + 10.0])
    np.testing.assert_allclose(wrap_deg(a), [-180.0, 179.0, -180.0, -0.5, 0.0, 179.9, -180.0, -1.0, 10.0])
    assert float(wrap_deg(190)) == -170.0
    w = wrap_deg(np.random.default_rng(0).uniform(-1e4, 1e4, 1000))
    assert (w >= -180).all() and (w < 180).all()


def test_r_squared():
    y = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]])
    assert r_squared(y, y) == 1.0
    assert r_squared(y, np.full_like(y, y.mean())) == pytest.approx(0.0)
    # 1 - SS_res / SS_tot over all samples pooled
    yhat = y + np.array([[0.5, -0.5, 0.0], [0.0, 1.0, -1.0]])
    assert r_squared(y, yhat) == pytest.approx(1 - 2.5 / ((y - y.mean()) ** 2).sum())
    assert math.isnan(r_squared(np.ones(4), np.zeros(4)))


def test_jsonable_gives_plain_json_values():
    obj = {1: np.float64(0.5), "a": np.arange(3), "b": (np.int64(2), np.bool_(True)), "nan": float("nan"),
           "inf": np.float32(np.inf), "c": np.complex128(1 + 2j), "nested": [{"x": np.array([[1.5]])}], "s": "t"}
    out = jsonable(obj)
    assert out == {"1": 0.5, "a": [0, 1, 2], "b": [2, True], "nan": None, "inf": None, "c": [1.0, 2.0],
                   "nested": [{"x": [[1.5]]}], "s": "t"}
    assert type(out["b"][0]) is int and type(out["b"][1]) is bool
    json.dumps(out, allow_nan=False)


def test_first_differing_digit_counts_significant_digits():
    assert first_differing_digit(1.1103753805160523, 1.1103753328323365) == 9  # 8 digits agree
    assert first_differing_digit(123.456, 123.457) == 6
    assert first_differing_digit(0.00012345, 0.00012346) == 5
    assert first_differing_digit(2.5, 2.5) is None
    assert first_differing_digit(1.5, -1.5) == 1 and first_differing_digit(9.99, 10.0) == 1
