"""docs/results.md is built from the recorded runs in docs/results/: nothing typed by hand."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _builder():
    spec = importlib.util.spec_from_file_location("results_builder", ROOT / "docs" / "results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def builder():
    return _builder()


@pytest.fixture(scope="module")
def records(builder):
    recs = builder.load_records()
    assert recs, "no recorded runs in docs/results/: run `python docs/results.py --run`"
    return recs


def test_the_page_is_what_the_records_and_the_template_build(builder, records):
    page = (ROOT / "docs" / "results.md").read_text()
    assert page == builder.render((ROOT / "docs" / "results.md.in").read_text(), records), (
        "docs/results.md differs from what docs/results.py builds from docs/results/*.json: "
        "run `python docs/results.py` (and never edit results.md by hand)")


def test_each_record_summary_is_its_runs(records):
    """A record's per-cell summary (what the tables show) recomputed from its runs."""
    from tinygrad_rnn.experiments.compare import summarize
    for rid, rec in records.items():
        runs = [{**r, "final": r["final"]} for r in rec["runs"]]
        again = summarize(runs)
        assert list(again) == list(rec["cells"]), rid
        for cell, row in again.items():
            want = rec["cells"][cell]
            assert row["solved"] == want["solved"] and row["runs"] == want["runs"], (rid, cell)
            assert row["solved_after"] == want["solved_after"] and row["final"] == want["final"], (rid, cell)
            assert row["median_seconds"] == pytest.approx(want["median_seconds"]), (rid, cell)
        for r in rec["runs"]:                  # a run's verdict and its numbers agree
            assert r["solved"] == (r["solved_after"] is not None)
            key = rec["metric"]["key"]
            assert r["evaluations"][-1][key] == r["final"]["numbers"][key] or r["interrupted"], (rid, r)
            firsts = [e["sequences"] for e in r["evaluations"] if e["solved"]]
            assert r["solved_after"] == (firsts[0] if firsts else None), (rid, r["settings"])


def test_every_experiment_of_the_page_is_recorded_and_every_placeholder_resolves(builder, records):
    template = (ROOT / "docs" / "results.md.in").read_text()
    named = set(re.findall(r"\{\{(?:table|runs|cmd|fig):([^}]+)\}\}", template))
    named |= {m.split(":")[0] for m in re.findall(r"\{\{val:([^}]+)\}\}", template)}
    assert named <= set(records), f"placeholders name unrecorded experiments: {named - set(records)}"
    assert set(records) <= set(builder.EXPERIMENTS)
    for rid, rec in records.items():
        assert rec["command"] == "tinygrad-rnn train " + " ".join(builder.EXPERIMENTS[rid])
        assert (ROOT / "docs" / "images" / "results" / f"{rid}.png").exists()
    page = builder.render(template, records)
    assert "{{" not in page


def test_numbers_are_shown_as_recorded(builder):
    assert builder._num(136000) == "136,000" and builder._num(0.002344) == "0.00234"
    assert builder._num(None) == "—" and builder._num(12.0) == "12"
    run = {"settings": {"cell": "lstm", "seed": 0}, "grad_flow_end": [[0.5, 0.1], [0.25, 0.2]],
           "final": {"numbers": {"mse": 0.25}}, "seconds": 3.5}
    rec = {"id": "x", "runs": [run],
           "cells": {"lstm": {"solved": 1, "runs": 2, "median_final": 0.125}}}
    recs = {"x": rec}
    assert builder.value(recs, "x:lstm.solved") == "1 of 2"
    assert builder.value(recs, "x:lstm.median_final") == "0.125"
    assert builder.value(recs, "x:lstm.0.mse") == "0.25"
    assert builder.value(recs, "x:lstm.0.gradflow_end_1") == "5.0e-01"      # one step back from the last
    assert builder.value(recs, "x:lstm.0.seconds") == "3.5"
    assert builder._secs(1244.3) == "1,244"
    run["clipped_fraction"] = 0.283
    assert builder.value(recs, "x:lstm.0.clipped_fraction") == "28%"
