"""What the benchmark scripts share: the percentile and summary conventions and the per-query timer.

A summary takes samples (ms, db ms, queries); the first is the cold run (the first of this process),
the rest are the warm repetitions. Percentiles are nearest-rank over the warm runs.
"""
from __future__ import annotations

import math
import time


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(samples: list[tuple[float, float, int]]) -> dict:
    cold, warm = samples[0], samples[1:]
    ms = [s[0] for s in warm]
    db = [s[1] for s in warm]
    return {"cold_ms": round(cold[0], 2), "p50_ms": round(pct(ms, 50), 2), "p95_ms": round(pct(ms, 95), 2),
            "p99_ms": round(pct(ms, 99), 2), "db_p50_ms": round(pct(db, 50), 3), "queries": warm[-1][2],
            "reps": len(warm)}


class QueryTimer:
    """connection.execute_wrapper: the request's database time (perf_counter) and query count."""

    def __init__(self):
        self.seconds, self.count = 0.0, 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1
