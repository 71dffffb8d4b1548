"""Blast radius of a bad version under each rollout strategy, simulated on one small endpoint.

``simlab recommend`` cites these figures for rollout questions. One standard, deterministic
scenario: a real-time endpoint of 4 × ml.m5.large (3 workers each, fixed 100 ms model time, no
overhead, so no request ever waits) takes one request every 0.5 s (at k·0.5 + 0.25 s); at
``AT_S`` UpdateEndpoint rolls out a version that fails every request (``faults.error_rate: 1``,
a broken container), watched by an endpoint-wide ``Invocation5XXErrors`` alarm (Sum > 2 in one
1-minute period). The new fleet serves after the documented start-up (300 s); every strategy that
bakes is rolled back when the first minute of bad answers closes. Per strategy (an answer id of the
rollout question) the record holds the update's outcome, when it was detected and its extra cost
(from the update's summary), and the requests the bad version's fleet served in the window of
``WINDOW_S`` after the call, with their errors, counted from the request log (for a rolled-back
update these are the summary's ``requests_to_new``; an update that is never rolled back keeps
serving until the window ends).

Strategies (SageMaker DeploymentConfig, shared/facts/rollouts.md):

- ``all_at_once``: blue/green ALL_AT_ONCE with no bake (wait 0, termination wait 0): no alarm is
  watched after the shift, so nothing rolls back;
- ``blue_green``: ALL_AT_ONCE baking 600 s + termination wait 600 s;
- ``canary``: CANARY 25 %, wait 600 s, termination wait 600 s;
- ``linear``: LINEAR steps of 25 %, wait 600 s;
- ``rolling``: RollingUpdatePolicy, batches of 1 instance (25 %), wait 600 s.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["STRATEGIES", "AT_S", "WINDOW_S", "RATE_PER_S", "INSTANCES", "blast_scenario", "blast_radius"]

AT_S = 60.0
WINDOW_S = 1800.0
RATE_PER_S = 2.0
INSTANCES = 4
ALARM = {"alarm_name": "endpoint-5xx", "deployment": "api", "metric_name": "Invocation5XXErrors",
         "statistic": "Sum", "period": 60, "evaluation_periods": 1, "threshold": 2,
         "comparison_operator": "GreaterThanThreshold", "treat_missing_data": "notBreaching"}
_PCT25 = {"type": "CAPACITY_PERCENT", "value": 25}


def _blue_green(routing: dict, termination: float) -> dict:
    return {"blue_green_update_policy": {"traffic_routing_configuration": routing,
                                         "termination_wait_in_seconds": termination}}


#: answer id of the rollout question → DeploymentConfig (without the alarms)
STRATEGIES: dict[str, dict] = {
    "all_at_once": _blue_green({"type": "ALL_AT_ONCE", "wait_interval_in_seconds": 0}, 0),
    "blue_green": _blue_green({"type": "ALL_AT_ONCE", "wait_interval_in_seconds": 600}, 600),
    "canary": _blue_green({"type": "CANARY", "canary_size": _PCT25, "wait_interval_in_seconds": 600}, 600),
    "linear": _blue_green({"type": "LINEAR", "linear_step_size": _PCT25, "wait_interval_in_seconds": 600}, 600),
    "rolling": {"rolling_update_policy": {"maximum_batch_size": {"type": "INSTANCE_COUNT", "value": 1},
                                          "wait_interval_in_seconds": 600}},
}


def blast_scenario(strategy: str, *, error_rate: float = 1.0) -> dict:
    """The raw scenario of one strategy (validate it with ``scenario_from_dict``).

    Raises KeyError for a strategy not in :data:`STRATEGIES`.
    """
    dc = {**STRATEGIES[strategy], "auto_rollback_configuration": {"alarms": [{"alarm_name": ALARM["alarm_name"]}]}}
    n = int((AT_S + WINDOW_S) * RATE_PER_S)
    times = [(k + 0.5) / RATE_PER_S for k in range(n)]
    dep = {"name": "api", "type": "real_time_endpoint", "instance_type": "ml.m5.large", "instance_count": INSTANCES,
           "workers_per_instance": 3, "service_time": {"dist": "fixed", "mean_ms": 100}, "overhead_ms": 0,
           "updates": [{"at": AT_S, "endpoint_config": {"faults": {"error_rate": error_rate}},
                        "deployment_config": dc}]}
    return {"name": f"blast-radius-{strategy}", "seed": 1, "duration": AT_S + WINDOW_S, "model": "breast_cancer_logreg",
            "workload": {"arrivals": "schedule", "times": times}, "deployments": [dep], "alarms": [dict(ALARM)]}


@lru_cache(maxsize=4)
def _blast(error_rate: float) -> tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]:
    import numpy as np

    from simlab.records import Err
    from simlab.scenario import scenario_from_dict
    from simlab.simulation import Simulation

    out = []
    for strategy in STRATEGIES:
        sim = Simulation(scenario_from_dict(blast_scenario(strategy, error_rate=error_rate))).run()
        u = sim.features["rollouts"].summary("api")["updates"][0]
        dep = sim.deployments[0]
        ctl = sim.features["rollouts"].run.controllers["api"][0]
        new = np.isin(dep.log.fleet, [f.id for f in dep.fleets() if f.config_name == ctl.config_name])
        rec = {"policy": u["policy"], "outcome": u["outcome"], "detected_s": u["detected_s"],
               "finished_s": u["finished_s"], "window_s": WINDOW_S, "requests_to_new": int(new.sum()),
               "errors_to_new": int((new & (dep.log.error != Err.NONE)).sum()),
               "extra_cost_usd": u["extra_cost_usd"]}
        out.append((strategy, tuple(rec.items())))
    return tuple(out)


def blast_radius(*, error_rate: float = 1.0) -> dict[str, dict[str, Any]]:
    """Strategy → ``{policy, outcome, detected_s, finished_s, window_s, requests_to_new, errors_to_new,
    extra_cost_usd}`` from one simulator run per strategy (deterministic; cached per process).

    Raises :class:`~simlab.errors.ScenarioError` for an ``error_rate`` outside [0, 1].
    """
    return {s: dict(rec) for s, rec in _blast(float(error_rate))}
