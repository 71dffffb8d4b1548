"""The same sweep gives the same bytes serially, on a process pool and on a Dask LocalCluster."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import simlab.whatif as wi
from simlab.whatif.execute import replication_seeds

VARY = ["workload.rate_per_s=2,6", "deployments.sls.memory_mb=1024,2048"]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    raw = {
        "name": "backends", "seed": 9, "duration": "10m", "warmup": "30s",
        "workload": {"arrivals": "bursty", "rate_per_s": 4, "off_rate_per_s": 0.2, "mean_on": "1m",
                     "mean_off": "3m", "payload_kb": {"dist": "lognormal", "mean_kb": 30, "cv": 1.0}},
        "deployments": [
            {"name": "rt", "type": "real_time_endpoint", "instance_count": 1, "workers_per_instance": 2,
             "service_time": {"dist": "lognormal", "mean_ms": 60, "cv": 0.8}},
            {"name": "sls", "type": "serverless_inference", "memory_mb": 1024, "max_concurrency": 5,
             "idle_timeout": "1m", "service_time": {"dist": "gamma", "mean_ms": 60, "cv": 0.8}},
        ],
    }
    path = tmp_path_factory.mktemp("backends") / "backends.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def serial(scenario: Path) -> wi.WhatIf:
    return wi.whatif(scenario, VARY, replications=2, workers=1)


def _same(a: wi.WhatIf, b: wi.WhatIf) -> None:
    assert a.to_json() == b.to_json()
    assert a.frame.equals(b.frame)
    assert [r["series"] for r in a.results] == [r["series"] for r in b.results]


def test_process_pool_is_bit_identical(scenario: Path, serial: wi.WhatIf) -> None:
    _same(serial, wi.whatif(scenario, VARY, replications=2, workers=2))


def test_dask_local_cluster_is_bit_identical(scenario: Path, serial: wi.WhatIf) -> None:
    # no importorskip: the test extra installs dask[distributed], so CI always runs this
    _same(serial, wi.whatif(scenario, VARY, replications=2, dask="local", workers=2))


def test_the_comparison_can_fail(scenario: Path, serial: wi.WhatIf) -> None:
    """Another root seed changes the results, and replications differ from each other."""
    other = wi.whatif(scenario, VARY[:1], replications=2, workers=1, seed=10)
    assert other.to_json() != wi.whatif(scenario, VARY[:1], replications=2, workers=1).to_json()
    rows = serial.frame[(serial.frame["point"] == 0) & (serial.frame["deployment"] == "rt")]
    assert rows["latency_ms.p99"].nunique() == 2


def test_replication_seeds_are_spawned_from_the_root() -> None:
    import numpy as np

    seeds = replication_seeds(9, 3)
    children = np.random.SeedSequence(9).spawn(3)
    assert seeds == [int(c.generate_state(1, np.uint64)[0]) for c in children]
    assert len(set(seeds)) == 3 and replication_seeds(9, 2) == seeds[:2]  # more replications keep the first ones
