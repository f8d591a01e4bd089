"""Shipping a sweep's results for the chapter: slim table, gallery portraits, the book's own row."""
import json

import pandas as pd

from setdyn import weights
from setdyn.sweep import ship, summary


def test_ship_writes_table_gallery_and_book_row(tmp_path):
    out = tmp_path / "sweep"
    model = weights.load(weights.PRETRAINED, dtype=__import__("torch").float32)
    meta = {k: v for k, v in weights.load_meta(weights.PRETRAINED).items()
            if k not in ("format", "format_version", "weights_sha256")}
    weights.save(model, out / "nets" / "a1_n0.1_s0_test.safetensors", meta)
    rows = pd.DataFrame([{"id": "a1_n0.1_s0_test", "seed": 0, "alpha": 1.0, "noise_std": 0.1,
                          "label": "phase-oscillator", "learned": True, "fresh_acc_clean": 1.0,
                          "period_ms": 244.0, "evidence": "{}"},
                         {"id": "a1_n0.1_s1_test", "seed": 1, "alpha": 1.0, "noise_std": 0.1,
                          "label": "other", "learned": False, "fresh_acc_clean": 0.5, "evidence": "{}"}])
    out.mkdir(parents=True, exist_ok=True)
    rows.to_csv(out / "sweep.csv", index=False)
    table, gallery, book = ship(out, dest=tmp_path / "data" / "sweep.csv")
    shipped = pd.read_csv(table)
    assert "evidence" not in shipped and len(shipped) == 2
    assert summary(shipped).iloc[0]["k"] == 1
    g = pd.read_csv(gallery)
    assert set(g["id"]) == {"book", "a1_n0.1_s0_test"}  # the untrained 'other' net has no weights here
    row = json.loads(book.read_text())
    assert row["id"] == "book" and row["label"] == "phase-oscillator" and row["seed"] == 0
