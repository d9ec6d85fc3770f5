"""Where the completion page's time goes, per metric (issue 6): for the company (the top unit) and this
year, the unit × month grid, the year's actual, the weighted pipeline and the ranking of the units and
people below, each timed once (warm it up with one run first). Prints one line per metric.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kamcrm_rev .venv/bin/python bench/completion_sources.py
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kamcrm.settings")

import django  # noqa: E402

django.setup()

from kamcrm.org.models import OrgUnit, User  # noqa: E402
from kamcrm.targets import selectors  # noqa: E402


def ms(fn) -> float:  # noqa: ANN001
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    user = User.objects.get(username="scale_exec")
    top = OrgUnit.objects.order_by("depth", "path").first()
    on = dt.date.today()
    year_start, year_end = dt.date(on.year, 1, 1), dt.date(on.year, 12, 31)
    for metric in selectors.metric_list():
        grid = ms(lambda m=metric: selectors.completion_by_unit_month(user=user, metric=m, year=on.year))
        actual = ms(lambda m=metric: selectors.actual(metric=m, subject=top, start=year_start, end=on))
        pipeline = ms(lambda m=metric: selectors.weighted_pipeline(metric=m, subject=top, start=year_start,
                                                                   end=year_end))
        ranking = ms(lambda m=metric: selectors.completion_ranking(user=user, metric=m, unit=top, on=on,
                                                                   period="year"))
        print(f"{metric.code:18} grid {grid:8.1f} ms   actual (year) {actual:8.1f} ms   "
              f"pipeline {pipeline:6.1f} ms   ranking {ranking:8.1f} ms")


if __name__ == "__main__":
    main()
