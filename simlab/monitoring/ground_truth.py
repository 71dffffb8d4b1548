"""Labels: what each request's true label is, whether it ever arrives, and when.

The label of a request is the dataset label of the row it carries — a feature shift keeps it (an
upstream pipeline change) — flipped by concept drift where that applies (simlab.drift). With a
``ground_truth`` config, a label arrives for ``coverage`` of the requests (one uniform per request
from stream ``ground_truth.coverage``) at request time + delay (delay drawn per request from stream
``ground_truth.delay``; a fixed delay gives exactly request time + delay). Monitors and retraining
only use labels whose arrival time has passed.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["GroundTruth", "merge"]


def merge(captured: Iterable[dict], labels: Iterable[dict]) -> list[tuple[dict, str]]:
    """Join capture records with ground-truth records as Model Monitor does: the capture's
    ``inferenceId`` when it has one, else its ``eventId``, against the ground truth's ``eventId``.
    Returns (capture record, label data) pairs for the records that found a label."""
    by_id = {g["eventMetadata"]["eventId"]: g["groundTruthData"]["data"] for g in labels}
    out = []
    for rec in captured:
        meta = rec["eventMetadata"]
        key = meta.get("inferenceId") or meta["eventId"]
        if key in by_id:
            out.append((rec, by_id[key]))
    return out


class GroundTruth:
    """Per-request ``label``, ``has_label`` and ``arrival`` (inf = never)."""

    def __init__(self, sim, cfg: dict | None) -> None:
        wl, ds = sim.workload, sim.dataset
        y = np.asarray(ds.y)[wl.row]
        self.classes = np.unique(ds.y) if ds.task != "regression" else None
        idx = np.arange(wl.n)
        self.label = wl.drift.labels(idx, y, self.classes) if wl.drift is not None else y.copy()
        self.configured = cfg is not None
        if cfg is None:
            self.has_label = np.zeros(wl.n, dtype=bool)
            self.arrival = np.full(wl.n, np.inf)
            return
        self.has_label = sim.streams.generator("ground_truth.coverage").random(wl.n) < cfg["coverage"]
        delay = cfg["delay"].ppf(sim.streams.generator("ground_truth.delay").random(wl.n))
        self.arrival = np.where(self.has_label, wl.t + delay, np.inf)

    def arrived(self, idx: np.ndarray, now: float) -> np.ndarray:
        """Mask over ``idx``: the label has arrived by ``now``."""
        return self.arrival[idx] <= now

    def text(self, idx: np.ndarray) -> list[str]:
        """Labels as the CSV strings of ground-truth records."""
        lab = self.label[idx]
        if self.classes is None:
            return [f"{v:.10g}" for v in lab.tolist()]
        return [str(int(v)) for v in lab.tolist()]
