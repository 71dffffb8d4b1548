"""Data capture: which requests an endpoint records, and their JSON Lines records.

Each request that completed is captured with probability ``sampling_percentage`` / 100, decided
by one uniform per request from stream ``monitoring.capture.<deployment>`` — capture never touches
the request log, so it cannot change an outcome. A record carries the request as CSV (the features
as sent: drifted, an empty field for a missing value, the token for a new category) and the
response as CSV (P(class 1) for binary models, the label for multiclass, the value for regression),
``inferenceTime`` = the request's arrival on the simulated clock (simlab.monitoring.timestamps),
``inferenceId`` = the client's id ``req-<index>`` (the same request has the same id on every
deployment) and a deterministic ``eventId`` (a name-based UUID 5 of deployment and request).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np

from simlab.monitoring.table import FeatureTable
from simlab.monitoring.timestamps import iso_many
from simlab.records import Err

__all__ = ["Capture", "event_id", "inference_id", "csv_rows"]


#: Namespace of simlab's eventIds (uuid5 of the URL below: fixed, so ids are reproducible).
EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "simlab:data-capture/eventId")


def event_id(deployment: str, i: int) -> str:
    """eventId of request ``i`` captured by ``deployment``: a name-based UUID (version 5), which
    is what it is — deterministic, not random (the real service's ids are random)."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{deployment}/{i}"))


def inference_id(i: int) -> str:
    """The InferenceId the simulated client sends with request ``i``."""
    return f"req-{i}"


def _cell(x: float) -> str:
    return "" if x != x else f"{x:.10g}"


def csv_rows(table: FeatureTable) -> list[str]:
    """One CSV line (no header) per row: numbers, empty for missing, tokens as text."""
    cells = [[_cell(x) for x in row] for row in table.X.tolist()]
    for j, tok in table.tokens.items():
        for r in np.flatnonzero(table.token_mask(j)).tolist():
            cells[r][j] = str(tok[r])
    return [",".join(c) for c in cells]


class Capture:
    """The capture decision per request and the records of captured requests of one deployment."""

    def __init__(self, sim, dep, cfg: dict) -> None:
        self.sim, self.dep, self.cfg = sim, dep, cfg
        u = sim.streams.generator(f"monitoring.capture.{dep.name}").random(sim.workload.n)
        self.sampled = u < cfg["sampling_percentage"] / 100.0
        self.modes = tuple(cfg["modes"])

    def window(self, t0: float, t1: float, now: float) -> np.ndarray:
        """Captured requests that arrived in [t0, t1) and had completed by ``now`` (indices)."""
        wl, log = self.sim.workload, self.dep.log
        i0, i1 = wl.upto(max(t0, 0.0)), wl.upto(t1)
        sel = np.arange(i0, i1)
        ok = self.sampled[sel] & (log.error[sel] == Err.NONE) & (log.t_done[sel] <= now)
        return sel[ok]

    def captured(self, now: float) -> np.ndarray:
        """Every captured request completed by ``now``."""
        return self.window(0.0, np.inf, now)

    def records(self, idx: np.ndarray, table: FeatureTable | None, outputs: list[str] | None) -> Iterator[dict]:
        """Capture records of requests ``idx`` (``table``/``outputs`` None when that mode is off)."""
        times = iso_many(self.sim.workload.t[idx])
        inputs = csv_rows(table) if table is not None and "input" in self.modes else None
        for k, i in enumerate(idx.tolist()):
            data: dict = {}
            if inputs is not None:
                data["endpointInput"] = {"observedContentType": "text/csv", "mode": "INPUT",
                                         "data": inputs[k], "encoding": "CSV"}
            if outputs is not None and "output" in self.modes:
                data["endpointOutput"] = {"observedContentType": "text/csv", "mode": "OUTPUT",
                                          "data": outputs[k], "encoding": "CSV"}
            yield {"captureData": data,
                   "eventMetadata": {"eventId": event_id(self.dep.name, i), "inferenceId": inference_id(i),
                                     "inferenceTime": times[k]},
                   "eventVersion": "0"}
