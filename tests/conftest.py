"""Shared test set-up: hypothesis profiles keep the suite fast on a 2-core machine.

Profiles: ``ci`` (default, bounded examples, no deadline) and ``thorough``
(select with ``HYPOTHESIS_PROFILE=thorough``).
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Every test starts from the same Python random state."""
    random.seed(42)
