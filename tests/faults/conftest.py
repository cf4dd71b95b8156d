"""The fault suite runs a Ferry of its own (its own Postgres cluster and Apache Kafka), so that
restarting them harms no other test. Run it with `./scripts/test.sh tests/faults`."""

from __future__ import annotations

import pytest
from support.faultsuite.stack import FaultStack


@pytest.fixture
def stack():
    s = FaultStack()
    try:
        yield s.start()
    finally:
        s.stop()
