"""Hypothesis profiles: `ci` (default, bounded so the suite stays fast) and `full` (digs deeper).

Pick one with TG_HYPOTHESIS_PROFILE=full.
"""

import os

import matplotlib

matplotlib.use("Agg")

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("full", max_examples=400, deadline=None)
settings.load_profile(os.environ.get("TG_HYPOTHESIS_PROFILE", "ci"))
