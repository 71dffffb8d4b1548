"""The cost of a run's real-model predictions vs one vectorised predict over its rows.

    python bench/inference_cost.py [--scenario scenarios/steady-api.yaml] [--repeat 7]

simlab computes the model output of every served request after the run
(``Deployment.predictions``, on first read): per deployment and (fleet, version) the model scores the
dataset rows once and requests index that result. This bench times, for each deployment of
the scenario,

* ``d.predictions()`` as a run does it (the model is fetched through ``sim.model``, i.e. read
  from the skops cache the first time in a run, then kept), and again with the model already
  in memory;

against the baseline: one ``model.score_output`` (what an endpoint returns; ``predict_proba``
for a binary model) over all of that deployment's served request rows, ``X[rows]`` gathered
beforehand. ``model.predict`` over the same rows is printed too. Best of ``--repeat``.
Requirement: predictions / baseline ≤ 1.2. Never asserts.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from simlab.records import Err
from simlab.scenario import load_scenario
from simlab.simulation import Simulation

ROOT = Path(__file__).resolve().parents[1]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "steady-api.yaml"))
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    sc = load_scenario(args.scenario)
    Simulation(sc).run()  # warm-up: dataset, model training or cache
    sim = Simulation(sc).run()

    print(f"scenario {sc.name}: {sim.workload.n:,} requests, model {sc.model}; best of {args.repeat}")
    print(f"{'deployment':16s} {'served':>9s} {'in a run':>10s} {'model warm':>11s} "
          f"{'score rows':>11s} {'predict rows':>13s} {'ratio':>6s}")
    worst = 0.0
    for d in sim.deployments:
        served = np.isfinite(d.log.t_start) & (d.log.error == Err.NONE)
        rows = sim.workload.row[served]

        def cold(d=d):
            sim.models.clear()  # as in a fresh run: the model is loaded from the skops cache
            d.predictions()

        t_cold = best(cold, args.repeat)
        d.predictions()
        t_warm = best(lambda d=d: d.predictions(), args.repeat)
        model = sim.model(d.model_of_variant(0), 0)
        X = np.ascontiguousarray(sim.dataset.X[rows])
        t_score = best(lambda m=model, x=X: m.score_output(x), args.repeat)
        t_predict = best(lambda m=model, x=X: m.predict(x), args.repeat)
        ratio = t_cold / t_score
        worst = max(worst, ratio)
        print(f"{d.name:16s} {rows.size:9,d} {t_cold * 1e3:8.2f}ms {t_warm * 1e3:9.2f}ms "
              f"{t_score * 1e3:9.2f}ms {t_predict * 1e3:11.2f}ms {ratio:6.2f}")
    print(f"\ninference cost ratio (predictions in a run / one score_output over its rows): "
          f"{worst:.2f} worst  (requirement ≤ 1.2)")


if __name__ == "__main__":
    main()
