"""The simulated blast radius per rollout strategy that ``simlab recommend`` cites, by hand.

The standard scenario (simlab.rollouts.blast): a request at (k + 0.5)/2 s for k = 0, 1, …; fixed
100 ms model time on 4 instances × 3 workers, no overhead (no request waits); UpdateEndpoint at
60 s; the new fleet serves from 60 + 300 = 360 s (the documented start-up); the new version fails
every request; the endpoint 5xx alarm (Sum > 2 in a 1-minute period) goes to ALARM when the minute
[360, 420) closes, since that minute holds ≥ 3 requests to the new fleet. A request goes to the fleet
whose traffic bucket holds its routing uniform, fleets in id order (old first): the counts below
come from the workload's arrival times and uniforms, not from the feature's accounting.
"""

from __future__ import annotations

import json

import pytest

from simlab import facts
from simlab.cli import main
from simlab.decide import recommend
from simlab.rollouts.blast import blast_radius, blast_scenario
from simlab.scenario import scenario_from_dict
from simlab.simulation import Simulation

PRICE_S = facts.instance("ml.m5.large").price_per_hour / 3600.0
READY, DETECT, END = 360.0, 420.0, 1860.0


def hits(strategy: str, share: float) -> int:
    """Requests arriving in [READY, DETECT) whose routing uniform is in the new fleet's bucket."""
    sim = Simulation(scenario_from_dict(blast_scenario(strategy)))
    t, u = sim.workload.t, sim.workload.u_route
    return int(((t >= READY) & (t < DETECT) & (u >= 1 - share)).sum())


@pytest.fixture(scope="module")
def blast() -> dict:
    return blast_radius()


def test_all_at_once_without_a_bake_is_never_rolled_back_and_serves_the_whole_window(blast) -> None:
    r = blast["all_at_once"]
    # arrivals (k + 0.5)/2 in [360, 1860): k = 720 … 3719, i.e. 3000 requests, all failed
    assert (r["outcome"], r["detected_s"], r["finished_s"]) == ("completed", None, READY)
    assert r["requests_to_new"] == r["errors_to_new"] == 3000
    assert r["extra_cost_usd"] == pytest.approx(0.0, abs=1e-9)  # blue retired as green starts serving


def test_blue_green_with_a_bake_loses_one_minute_of_all_traffic(blast) -> None:
    r = blast["blue_green"]
    # [360, 420): k = 720 … 839, 120 requests; green (4 instances) billed 60 s on top of blue
    assert (r["outcome"], r["detected_s"]) == ("rolled_back", DETECT)
    assert r["requests_to_new"] == r["errors_to_new"] == 120
    assert r["extra_cost_usd"] == pytest.approx(4 * 60 * PRICE_S, abs=1e-6)


@pytest.mark.parametrize(("strategy", "share", "extra_instance_s"), [
    ("canary", 0.25, 4 * 60),       # green is the full 4 instances, billed 60 s
    ("linear", 0.25, 4 * 60 - 60),  # …and blue turned off 1 of its 4 instances for that minute
    ("rolling", 0.2, 1 * 60),       # one new instance next to 4 old: 1/(1 + 4) of the traffic
])
def test_partial_strategies_expose_their_share_of_the_first_minute(blast, strategy, share, extra_instance_s) -> None:
    r = blast[strategy]
    n = hits(strategy, share)
    assert 120 * share / 3 < n < 120 * share * 2  # the bucket count is near its expectation
    assert (r["outcome"], r["detected_s"]) == ("rolled_back", DETECT)
    assert r["requests_to_new"] == r["errors_to_new"] == n
    assert r["extra_cost_usd"] == pytest.approx(extra_instance_s * PRICE_S, abs=1e-6)


def test_recommend_cites_the_blast_radius_in_json_and_text(capsys) -> None:
    rec = recommend({"question": "rollout", "goal": "reduce_risk"}).to_dict()
    assert list(rec) == ["question", "recommendation", "also", "ruled_out", "reasons", "estimates", "blast_radius"]
    assert rec["blast_radius"]["canary"]["requests_to_new"] == hits("canary", 0.25)
    assert rec["blast_radius"]["all_at_once"]["requests_to_new"] == 3000
    assert "blast_radius" not in recommend({"question": "monitoring", "concern": "input_drift"}).to_dict()
    assert main(["recommend", "-", "--json"], _env("question: rollout\ngoal: simplest\n")) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["blast_radius"]["blue_green"]["requests_to_new"] == 120
    assert main(["recommend", "-"], _env("question: rollout\ngoal: reduce_risk\n")) == 0
    text = capsys.readouterr().out
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("all_at_once  "))
    assert line.split()[1:5] == ["ALL_AT_ONCE", "completed", "never", "3,000"]


def _env(stdin: str):
    import io
    import sys

    from simlab.cli import Environment

    return Environment(stdout=sys.stdout, stderr=io.StringIO(), stdin=io.StringIO(stdin))

