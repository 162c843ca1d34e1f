"""bench/train_step.py: one Adam step of the adding task by each implementation, on the same weights."""

import numpy as np

from bench import train_step


def test_every_implementation_takes_the_same_first_step_and_is_timed():
    runs = train_step.steps()
    assert {"tinygrad sequence", "tinygrad_rnn"} <= set(runs)
    first = {name: step() for name, step in runs.items()}
    assert all(np.isclose(v, first["tinygrad sequence"], rtol=1e-10) for v in first.values())
    # Adam moved our two copies of the weights alike (torch's LSTM has two biases, each trained: its
    # second step differs, as in any torch model)
    second = {name: step() for name, step in runs.items()}
    assert np.isclose(second["tinygrad_rnn"], second["tinygrad sequence"], rtol=1e-10)
    assert second["tinygrad sequence"] < first["tinygrad sequence"]
    rows = train_step.run(repeats=1)
    assert {r["impl"] for r in rows} == set(runs) and all(r["seconds"] > 0 for r in rows)
    if "torch nn" in runs:
        assert [r["vs_torch"] for r in rows if r["impl"] == "torch nn"] == [1.0]
