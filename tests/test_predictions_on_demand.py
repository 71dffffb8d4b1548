"""Predictions are scored only when someone reads them: the JSON summary never does."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import rt, scenario

import simlab
from simlab.deployments.base import Deployment
from simlab.scenario import scenario_from_dict


def test_summary_does_not_score_and_requests_do(monkeypatch) -> None:
    calls: list[str] = []
    real = Deployment.predictions

    def counting(self):
        calls.append(self.name)
        return real(self)

    monkeypatch.setattr(Deployment, "predictions", counting)
    res = simlab.run(scenario_from_dict(scenario(rt("a"), rt("b"), rate=2.0, duration=300.0)), seed=1)
    res.to_json()
    res.summary()
    assert calls == []
    frame = res.requests
    assert sorted(calls) == ["a", "b"]
    served = frame["outcome"] == "completed"
    assert frame.loc[served, "prediction"].notna().all()
    np.testing.assert_array_equal(res.predictions["a"], res.predictions["a"])
    assert sorted(calls) == ["a", "b"]  # computed once per deployment


def test_an_unknown_deployment_has_no_predictions() -> None:
    res = simlab.run(scenario_from_dict(scenario(rt("a"), rate=1.0, duration=60.0)), seed=1)
    with pytest.raises(KeyError):
        res.predictions["zzz"]
    assert list(res.predictions) == ["a"] and len(res.predictions) == 1
