"""What changed in the pipeline over a period (the week-over-week view of K3), from the stage history:

- new: opportunities obtained in the period (their first history entry);
- advanced: moves to a later open stage;
- slipped: moves back to an earlier open stage, and open deals whose expected close date fell in the
  period but that are still open at its end;
- won / lost: entries into a won or a lost stage.

Each bucket has a count, an amount (the amount recorded with the entry; for slipped close dates the
current amount) and the opportunity ids behind it for drill-down. Only what `user` may see counts.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, QuerySet
from django.utils import timezone

from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import VIEW, reach, visible
from kamcrm.sales.choices import StageKind
from kamcrm.sales.models import Opportunity, OpportunityStageChange

BUCKETS = ("new", "advanced", "slipped", "won", "lost")


@dataclass
class Bucket:
    count: int = 0
    amount: Decimal = Decimal("0")
    ids: list[int] = field(default_factory=list)
    _seen: set[int] = field(default_factory=set, repr=False)  # ids as a set: a busy week has 100k entries

    def add(self, pk: int, amount: Decimal) -> None:
        if pk in self._seen:
            return
        self._seen.add(pk)
        self.ids.append(pk)
        self.count += 1
        self.amount += amount or Decimal("0")


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return (timezone.make_aware(dt.datetime.combine(start, dt.time.min), tz),
            timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min), tz))


def pipeline_changes(*, user: User, start: dt.date, end: dt.date, unit: OrgUnit | None = None,
                     owner: User | None = None) -> dict[str, Bucket]:
    """The five buckets for the days start..end (inclusive)."""
    opportunities: QuerySet[Opportunity] = visible(Opportunity.objects.all(), user, VIEW)
    if unit is not None:
        opportunities = opportunities.filter(owner_unit__path__startswith=unit.path)
    if owner is not None:
        opportunities = opportunities.filter(owner=owner)
    first, last = _bounds(start, end)
    out = {name: Bucket() for name in BUCKETS}
    entries = OpportunityStageChange.objects.filter(changed_at__gte=first, changed_at__lt=last)
    if unit is not None or owner is not None or not reach(user, VIEW).everything:
        # (someone who sees everything, unfiltered: every entry of the period, without a probe per entry)
        entries = entries.filter(opportunity__in=opportunities.values("pk"))
    entries = (entries
               .values_list("opportunity_id", "amount", "from_stage__order", "from_stage__kind", "to_stage__order",
                            "to_stage__kind")
               .order_by("changed_at", "id"))
    for pk, amount, from_order, from_kind, to_order, to_kind in entries.iterator(chunk_size=5000):
        if from_order is None:
            out["new"].add(pk, amount)
        elif to_kind == StageKind.WON:
            out["won"].add(pk, amount)
        elif to_kind == StageKind.LOST:
            out["lost"].add(pk, amount)
        elif to_kind == StageKind.OPEN and from_kind == StageKind.OPEN and to_order > from_order:
            out["advanced"].add(pk, amount)
        elif to_kind == StageKind.OPEN and from_kind == StageKind.OPEN and to_order < from_order:
            out["slipped"].add(pk, amount)
    overdue = (opportunities.filter(stage__kind=StageKind.OPEN, expected_close_date__gte=start,
                                    expected_close_date__lte=end, stage_entered_at__lt=last)
               .exclude(expected_close_date__isnull=True).order_by().values_list("pk", F("amount")))
    for pk, amount in overdue.iterator(chunk_size=5000):
        out["slipped"].add(pk, amount)
    return out


def week_over_week(*, user: User, day: dt.date | None = None, **filters) -> list[tuple[str, dt.date, dict]]:  # noqa: ANN003
    """This week (Monday to `day`) and the full week before, side by side."""
    day = day or timezone.localdate()
    monday = day - dt.timedelta(days=day.weekday())
    before = monday - dt.timedelta(days=7)
    return [("this", monday, pipeline_changes(user=user, start=monday, end=day, **filters)),
            ("previous", before, pipeline_changes(user=user, start=before, end=monday - dt.timedelta(days=1),
                                                  **filters))]
