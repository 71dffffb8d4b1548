"""Columnar per-request records (one numpy array per field, no Python object per request)."""

from __future__ import annotations

import enum

import numpy as np

__all__ = ["Err", "RequestLog", "STATUS_OF", "ERROR_NAMES", "Outcome"]


class Err(enum.IntEnum):
    """Why a request did not complete normally (0 = it did)."""

    NONE = 0
    PAYLOAD_TOO_LARGE = 1  # ValidationError, HTTP 413
    TIMEOUT = 2  # model did not answer within the service's limit
    THROTTLED = 3  # ThrottlingException, HTTP 400 (serverless MaxConcurrency; AWS CommonErrors)
    EXPIRED = 4  # async request TTL passed before processing
    MODEL_ERROR = 5  # the container failed the request (e.g. a malformed record)
    NOT_READY = 6  # ModelNotReadyException, HTTP 429 (MME model still loading)


# HTTP status and the error name the real service returns, per error code
STATUS_OF = {Err.NONE: 200, Err.PAYLOAD_TOO_LARGE: 413, Err.TIMEOUT: 424, Err.THROTTLED: 400,
             Err.EXPIRED: 410, Err.MODEL_ERROR: 424, Err.NOT_READY: 429}
ERROR_NAMES = {Err.NONE: "", Err.PAYLOAD_TOO_LARGE: "ValidationError", Err.TIMEOUT: "ModelError (timeout)",
               Err.THROTTLED: "ThrottlingException", Err.EXPIRED: "RequestExpired",
               Err.MODEL_ERROR: "ModelError", Err.NOT_READY: "ModelNotReadyException"}


class Outcome(enum.IntEnum):
    """Where a request stands at the end of the simulated period."""

    COMPLETED = 0
    FAILED = 1
    THROTTLED = 2
    IN_FLIGHT = 3


class RequestLog:
    """Per-request fields a deployment fills in; index ``i`` is request ``i`` of the workload.

    Times are seconds. ``t_start`` is when a worker took the request (NaN if none did),
    ``t_done`` when the response left (NaN if never); ``busy_s`` how long a worker was held.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.variant = np.zeros(n, dtype=np.int16)
        self.instance = np.full(n, -1, dtype=np.int32)
        self.t_start = np.full(n, np.nan)
        self.t_done = np.full(n, np.nan)
        self.model_s = np.zeros(n)
        self.overhead_s = np.zeros(n)
        self.busy_s = np.zeros(n)
        self.error = np.zeros(n, dtype=np.int8)
        self.cold = np.zeros(n, dtype=bool)
        self.model_version = np.zeros(n, dtype=np.int16)
        self.fleet = np.zeros(n, dtype=np.int16)  # id of the fleet that took it (owner API, Deployment.fleets)

    def outcome(self, t_end: float) -> np.ndarray:
        """:class:`Outcome` per request at time ``t_end``."""
        out = np.full(self.n, Outcome.IN_FLIGHT, dtype=np.int8)
        finished = self.t_done <= t_end  # NaN compares False
        out[finished & (self.error == Err.NONE)] = Outcome.COMPLETED
        out[finished & (self.error != Err.NONE)] = Outcome.FAILED
        out[self.error == Err.THROTTLED] = Outcome.THROTTLED
        return out

    def nbytes(self) -> int:
        arrays = {id(a): a for a in vars(self).values() if isinstance(a, np.ndarray)}  # shared columns once
        return sum(a.nbytes for a in arrays.values())
