"""The plug-in seam: a feature registered from the test suite (no simlab code touched) adds a
scenario field, a SimPy process and a summary key; monitoring is itself a registered feature."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from helpers import rt, scenario

import simlab
from simlab import features
from simlab.cli import Environment, ExitStatus, main
from simlab.errors import Problem, ScenarioError
from simlab.scenario import scenario_from_dict
from simlab.schema import Duration, Field, Int


class ProbeRun:
    """Counts clock ticks and the requests each deployment had admitted at every tick."""

    def __init__(self, sim, every: float, tag: int | None) -> None:
        self.sim, self.every, self.tag = sim, every, tag
        self.ticks: list[float] = []
        self.admitted: dict[str, list[int]] = {d.name: [] for d in sim.deployments}

    def start(self) -> None:
        self.sim.env.process(self._tick())

    def _tick(self):
        env = self.sim.env
        while True:
            yield env.timeout(self.every)
            self.ticks.append(env.now)
            for d in self.sim.deployments:
                d.admit_until(env.now)
                self.admitted[d.name].append(int(self.sim.workload.upto(env.now)))

    def summary(self, deployment: str) -> dict | None:
        seen = self.admitted[deployment]
        return {"last_admitted": seen[-1] if seen else 0}

    def top_summary(self) -> dict | None:
        return {"ticks": len(self.ticks), "tag": self.tag}

    def frames(self) -> dict:
        import pandas as pd

        return {"ticks": pd.DataFrame({"t_s": self.ticks})}

    def write(self, out_dir: Path, result) -> list[Path]:
        path = Path(out_dir) / "probe.csv"
        self.frames()["ticks"].to_csv(path, index=False)
        return [path]


class Probe:
    name = "probe"

    def top_fields(self) -> list[Field]:
        return [Field("probe_every", Duration(min=0, min_open=True), default=None, unit="s", doc="test probe period")]

    def deployment_fields(self, type_id: str) -> list[Field]:
        return [Field("probe_tag", Int(min=0), default=None, doc="test tag")] if type_id == "real_time_endpoint" else []

    def check(self, scenario: dict, file_path: str) -> list[Problem]:
        every = scenario.get("probe_every")
        if every is not None and every > scenario["duration"]:
            return [Problem("probe_every", f"must be at most duration ({scenario['duration']:g} s)", f"{every:g} s")]
        return []

    def attach(self, sim):
        every = sim.scenario.probe_every
        if every is None:
            return None
        tags = [d.config.get("probe_tag") for d in sim.deployments if d.config.get("probe_tag") is not None]
        return ProbeRun(sim, every, tags[0] if tags else None)


@pytest.fixture
def probe():
    feature = Probe()
    features.register(feature)
    yield feature
    features.unregister("probe")


def test_a_registered_feature_adds_a_field_a_process_and_summary_keys(probe, tmp_path) -> None:
    raw = scenario(rt(probe_tag=7), rate=5.0, duration=600.0, probe_every="90s")
    res = simlab.run(scenario_from_dict(raw), seed=3)
    summary = json.loads(res.to_json())
    # the field was read (90 s) and the process ran on the clock: ticks at 90, 180, ..., 540
    assert summary["probe"] == {"ticks": 6, "tag": 7}
    assert list(res.features["probe"]["ticks"]["t_s"]) == [90.0 * k for k in range(1, 7)]
    # the per-deployment key: requests that arrived before the last tick (540 s), counted independently
    t = res.sim.workload.t
    assert summary["deployments"]["rt"]["probe"] == {"last_admitted": int((t < 540.0).sum())}
    assert res.probe["ticks"].shape == (6, 1)
    assert tmp_path / "probe.csv" in res.write(tmp_path)


def test_an_inline_feature_puts_its_keys_into_the_deployment_summary(probe, monkeypatch) -> None:
    """``summary_inline``: the keys sit next to the deployment's own figures (the rollouts issue's
    ``deployments.NAME.updates``); a key the deployment already has is refused, not overwritten."""
    raw = scenario(rt(probe_tag=7), rate=5.0, duration=600.0, probe_every="90s")
    probe.summary_inline = True
    dep = simlab.run(scenario_from_dict(raw), seed=3).summary()["deployments"]["rt"]
    assert "probe" not in dep
    assert dep["last_admitted"] > 0 and dep["arrived"] > 0
    monkeypatch.setattr(ProbeRun, "summary", lambda self, deployment: {"arrived": 1})
    with pytest.raises(ValueError, match=r"feature 'probe': summary key\(s\) arrived of deployment 'rt' already taken"):
        simlab.run(scenario_from_dict(raw), seed=3).summary()


def test_an_unused_feature_adds_nothing(probe) -> None:
    res = simlab.run(scenario_from_dict(scenario(rt(), rate=5.0, duration=300.0)), seed=3)
    assert "probe" not in res.summary() and "probe" not in res.summary()["deployments"]["rt"]
    assert res.probe is None and "probe" not in res.features


def test_feature_fields_are_validated_and_checked(probe) -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(scenario(rt(probe_tag=-1), duration=600.0, probe_every="2h"))
    assert "deployments[0].probe_tag: must be an integer ≥ 0, got -1" in str(err.value)
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(scenario(rt(), duration=600.0, probe_every="2h"))
    assert "probe_every: must be at most duration (600 s), got 7200 s" in str(err.value)
    # a field of another type is still unknown there
    with pytest.raises(ScenarioError, match=r"deployments\[0\].probe_tag: unknown field"):
        scenario_from_dict(scenario({"name": "s", "type": "serverless_inference", "probe_tag": 1}))


def test_without_the_feature_its_fields_are_unknown() -> None:
    with pytest.raises(ScenarioError, match="probe_every: unknown field"):
        scenario_from_dict(scenario(rt(), probe_every="90s"))


def test_feature_field_is_documented(probe) -> None:
    from simlab.docgen import reference_markdown

    assert "`probe_every`" in reference_markdown() and "`probe_tag`" in reference_markdown()


def test_cli_shows_the_feature_key_and_exits_2_on_its_problem(probe, tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: t\nduration: 10m\nprobe_every: 1h\nworkload: {arrivals: poisson, rate_per_s: 1}\n"
                    "deployments:\n  - {name: rt, type: real_time_endpoint}\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["simulate", str(path), "--json"], Environment(stdout=out, stderr=err, environ={}))
    assert code == ExitStatus.USAGE and err.getvalue().strip() == (
        f"error: {path}: probe_every: must be at most duration (600 s), got 3600 s")
    path.write_text(path.read_text().replace("1h", "4m"), encoding="utf-8")
    out = io.StringIO()
    assert main(["simulate", str(path), "--json"], Environment(stdout=out, stderr=err, environ={})) == ExitStatus.SUCCESS
    assert json.loads(out.getvalue())["probe"]["ticks"] == 2


def test_registry_rejects_a_second_owner() -> None:
    class Clash(Probe):
        name = "clash"

        def top_fields(self) -> list[Field]:
            return [Field("ground_truth", Int(), default=None)]

    with pytest.raises(ValueError, match="ground_truth"):
        features.register(Clash())
    with pytest.raises(ValueError, match="already registered"):
        features.register(type("Other", (Probe,), {"name": "monitoring"})())


def test_monitoring_is_the_first_feature_and_res_monitoring_reads_it() -> None:
    assert [f.name for f in features.registered()][0] == "monitoring"
    raw = scenario(rt(data_capture={}, monitors=[{"type": "data_quality"}]), rate=1.0, duration="3h")
    res = simlab.run(scenario_from_dict(raw), seed=1)
    assert res.monitoring is res.sim.features["monitoring"].results
    assert set(res.features["monitoring"]) == {"executions", "violations", "alarms", "metrics", "detections", "retrainings"}
    assert len(res.features["monitoring"]["executions"]) == res.summary()["deployments"]["rt"]["monitoring"]["executions"] == 2  # hourly: at 1 h and 2 h


def test_no_module_outside_the_feature_wires_monitoring_by_hand() -> None:
    root = Path(__file__).resolve().parents[1] / "simlab"
    core = [root / f for f in ("simulation.py", "scenario.py", "result.py", "workload.py", "report.py", "docgen.py",
                               "drift.py")] + sorted((root / "deployments").glob("*.py"))
    for path in core:
        assert "monitoring" not in path.read_text(encoding="utf-8"), path.name
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "getattr(sim" not in text and "getattr(self.sim" not in text, path
