"""The funnel's roll-up (K3 at scale): sales.models.FunnelRollup, kept by the services.

An opportunity contributes to the roll-up rows of its key (its owner and unit, its account's owner,
unit and region): one to `n` with its amount in cents and cents × probability at its current stage,
one to `furthest` at the furthest open-or-won stage its history reached, and each completed stay to
`stay_seconds`/`stays` at that stay's stage. A service that changes opportunities takes their
contributions before (`contributions`), changes them, and hands the before-state to `refresh`, which
adds the difference; new opportunities are `added`. The funnel selector reads the roll-up whenever
the figures asked for do not depend on dates or product lines (sales.selectors.funnel).

The same contributions keep sales.models.PipelineRollup: each open opportunity with an expected close
date adds to `n`, `cents` and `weighted` of its (owner, unit, close month) — what target completion
reads as the weighted pipeline of a period.

Bulk loads (demo, scale generator) call `rebuild()`, which is also the repair tool
(`kamcrm funnel_rollup_rebuild`); a change to the stages' order or kind needs it too.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connection, transaction

from kamcrm.sales.choices import StageKind
from kamcrm.sales.models import FunnelRollup, Opportunity, OpportunityStageChange, PipelineRollup, Stage

MEASURES = ("n", "cents", "weighted", "furthest", "stay_seconds", "stays")
PIPELINE_MEASURES = ("n", "cents", "weighted")
# A funnel key: (stage, owner, owner unit, account owner, account unit, region), six ints; a pipeline
# key: (owner, owner unit, close month), three. Both kinds live in one Contributions so the callers
# (take before, change, refresh) hand a single value around; _apply tells them apart by length.
Key = tuple[int, int, int, int, int, int]
PipelineKey = tuple[int, int, dt.date]
Contributions = dict[Key | PipelineKey, list[int]]
CHUNK = 5000


Stages = tuple[dict[int, int], set[int]]


def _stages() -> Stages:
    """(open and won stages by id → their order: the stages that count as progress; the open stages'
    ids: what the pipeline counts), from one query."""
    progress, open_ids = {}, set()
    for pk, order, kind in Stage.objects.filter(kind__in=[StageKind.OPEN, StageKind.WON]).values_list(
            "pk", "order", "kind"):
        progress[pk] = order
        if kind == StageKind.OPEN:
            open_ids.add(pk)
    return progress, open_ids


def contributions(opportunity_ids: Iterable[int], *, stages: Stages | None = None) -> Contributions:
    """What these opportunities add to the roll-ups now, by key (the stages, then two queries per 5,000)."""
    ids = sorted(set(opportunity_ids))
    progress, open_stages = _stages() if stages is None else stages
    out: Contributions = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        dims: dict[int, tuple[int, int, int, int, int]] = {}
        for pk, stage_id, amount, probability, close, *key in (
                Opportunity.objects.filter(pk__in=chunk).values_list(
                    "pk", "stage_id", "amount", "probability", "expected_close_date", "owner_id", "owner_unit_id",
                    "account__owner_id", "account__owner_unit_id", "account__region_id")):
            dims[pk] = tuple(key)
            cents = int(round(amount * 100))
            row = out.setdefault((stage_id, *key), [0] * len(MEASURES))
            row[0] += 1
            row[1] += cents
            row[2] += cents * probability
            if stage_id in open_stages and close is not None:
                row = out.setdefault((key[0], key[1], close.replace(day=1)), [0] * len(PIPELINE_MEASURES))
                row[0] += 1
                row[1] += cents
                row[2] += cents * probability
        furthest: dict[int, int] = {}
        for pk, stage_id, seconds in (OpportunityStageChange.objects.filter(opportunity_id__in=chunk)
                                      .values_list("opportunity_id", "to_stage_id", "seconds_in_stage")):
            if stage_id in progress and (pk not in furthest or progress[stage_id] > progress[furthest[pk]]):
                furthest[pk] = stage_id
            if seconds is not None:
                row = out.setdefault((stage_id, *dims[pk]), [0] * len(MEASURES))
                row[4] += seconds
                row[5] += 1
        for pk, stage_id in furthest.items():
            out.setdefault((stage_id, *dims[pk]), [0] * len(MEASURES))[3] += 1
    return out


def added(opportunity_ids: Iterable[int]) -> None:
    """New opportunities (created with their first history entries)."""
    _apply(contributions(opportunity_ids))


def refresh(before: Contributions, opportunity_ids: Iterable[int]) -> None:
    """The opportunities changed since `before` was taken: add the difference."""
    delta: Contributions = {key: list(values) for key, values in contributions(opportunity_ids).items()}
    for key, values in before.items():
        row = delta.setdefault(key, [0] * len(values))
        for i, value in enumerate(values):
            row[i] -= value
    _apply(delta)


def _apply(delta: Contributions) -> None:
    """Add each difference to a row of its key in its roll-up, creating the rows that are missing."""
    delta = {key: values for key, values in delta.items() if any(values)}
    _apply_funnel({key: values for key, values in delta.items() if len(key) == 6})
    _apply_pipeline({key: values for key, values in delta.items() if len(key) == 3})


def _merge(model, delta: dict, existing: dict, columns: tuple[str, ...], make) -> None:  # noqa: ANN001
    """Write `delta` onto the rows found (`existing`: key → (pk, values)): updated, deleted where they
    fall to all zeros, created (by `make(key, values)`) where missing."""
    changed, emptied, created = [], [], []
    for key, values in delta.items():
        found = existing.get(key)
        if found is None:
            created.append(make(key, dict(zip(columns, values, strict=True))))
            continue
        pk, current = found
        new = [a + b for a, b in zip(current, values, strict=True)]
        if any(new):
            changed.append((*new, pk))
        else:
            emptied.append(pk)
    if changed:
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {model._meta.db_table} SET {', '.join(f'{c} = %s' for c in columns)} "
                               "WHERE id = %s", changed)
    if emptied:
        model.objects.filter(pk__in=emptied).delete()
    model.objects.bulk_create(created, batch_size=2000)


def _apply_funnel(delta: dict[Key, list[int]]) -> None:
    """The rows are read under a row lock, so two transactions changing the same key add up instead
    of overwriting."""
    if not delta:
        return
    existing: dict[Key, tuple[int, list[int]]] = {}
    rows = (FunnelRollup.objects.select_for_update()
            .filter(account_owner_id__in={k[3] for k in delta}, stage_id__in={k[0] for k in delta})
            .order_by("pk").values_list("pk", "stage_id", "owner_id", "owner_unit_id", "account_owner_id",
                                        "account_unit_id", "region_id", *MEASURES))
    for pk, *rest in rows:
        key, values = tuple(rest[:6]), rest[6:]
        if key in delta:
            existing.setdefault(key, (pk, values))
    _merge(FunnelRollup, delta, existing, MEASURES, lambda key, values: FunnelRollup(
        stage_id=key[0], owner_id=key[1], owner_unit_id=key[2], account_owner_id=key[3], account_unit_id=key[4],
        region_id=key[5], **values))


def _apply_pipeline(delta: dict[PipelineKey, list[int]]) -> None:
    if not delta:
        return
    existing: dict[PipelineKey, tuple[int, list[int]]] = {}
    rows = (PipelineRollup.objects.select_for_update()
            .filter(owner_id__in={k[0] for k in delta}, close_month__in={k[2] for k in delta})
            .order_by("pk").values_list("pk", "owner_id", "owner_unit_id", "close_month", *PIPELINE_MEASURES))
    for pk, *rest in rows:
        key, values = tuple(rest[:3]), rest[3:]
        if key in delta:
            existing.setdefault(key, (pk, values))
    _merge(PipelineRollup, delta, existing, PIPELINE_MEASURES, lambda key, values: PipelineRollup(
        owner_id=key[0], owner_unit_id=key[1], close_month=key[2], **values))


@transaction.atomic
def rebuild() -> int:
    """Every row of both roll-ups from scratch, over all opportunities in chunks (bulk loads and
    repair). Returns the number of funnel roll-up rows."""
    FunnelRollup.objects.all().delete()
    PipelineRollup.objects.all().delete()
    stages = _stages()
    total: Contributions = {}
    last = 0
    while True:
        ids = list(Opportunity.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:CHUNK * 4])
        if not ids:
            break
        for key, values in contributions(ids, stages=stages).items():
            row = total.setdefault(key, [0] * len(values))
            for i, value in enumerate(values):
                row[i] += value
        last = ids[-1]
    _apply(dict(total))
    return FunnelRollup.objects.count()
