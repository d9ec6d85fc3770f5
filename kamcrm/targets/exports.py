"""Exports of the target views (K7) as CSV or .xlsx: a plan's grid (one metric), completion (a person, a
unit or yourself, every metric) and the ranking below a unit.

These are computed reports, not lists of records, so they are not registered as export entities (the
generic /exchange/export/<entity> view reads a queryset). They reuse that mechanism all the same: the rows
are handed to exchange.export's writers through a row source with the queryset's `values().iterator()`
shape, so the CSV (UTF-8 with a BOM), the .xlsx (write-only workbook), formula neutralisation and the
export log are the lists'. Each export holds exactly what its page shows the user: the grid's rows within
their reach (selectors.plan_grid), completion and ranking only for subjects they may see (404 otherwise).

URLs (targets/urls.py), with the page's own query parameters:
- targets:plan_export      /targets/<plan id>/export.<csv|xlsx>?metric=<code or id>&product_line=<id>
- targets:completion_export /targets/completion/export.<csv|xlsx>?unit=|person=&period=&on=&metric=
- targets:ranking_export   /targets/ranking/export.<csv|xlsx>?unit=<id>&metric=&period=&on=
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from kamcrm.exchange.export import Column, ExportEntity, PreparedExport, filters_as_json
from kamcrm.exchange.export_views import export_response
from kamcrm.exchange.models import ExportChannel, ExportFormat
from kamcrm.org.models import OrgUnit, User
from kamcrm.targets import selectors
from kamcrm.targets.api.serializers import (
    CompletionQuerySerializer,
    GridQuerySerializer,
    RankingQuerySerializer,
)
from kamcrm.targets.api.views import grid_data
from kamcrm.targets.choices import Period
from kamcrm.targets.import_entities import MONTH_LABELS
from kamcrm.targets.models import Metric, TargetPlan

__all__ = ["completion_export", "completion_rows", "grid_rows", "plan_export", "ranking_export", "ranking_rows"]

KIND_LABELS = {"unit": _("unit"), "person": _("person"), "unallocated": _("unallocated")}


class RowSource:
    """Computed rows in the shape ExportRun reads a queryset: `.values(*fields).iterator(chunk_size=…)`."""

    def __init__(self, rows: list[dict[str, Any]]):
        self.rows = rows

    def values(self, *fields: str) -> RowSource:
        return self

    def iterator(self, chunk_size: int = 0) -> Iterator[dict[str, Any]]:
        return iter(self.rows)


def _code(subject: OrgUnit | User) -> str:
    return subject.username if isinstance(subject, User) else subject.code


def _col(key: str, label: Any, width: int = 14) -> Column:
    return Column(key, label, (key,), None, width)


# ---- rows ---------------------------------------------------------------------------------------

def grid_columns() -> list[Column]:
    return [_col("node", _("unit/person"), 16), _col("name", _("name"), 24), _col("kind", _("row"), 10),
            _col("depth", _("level"), 6), _col("metric", _("metric"), 16),
            *[_col(f"m{m}", MONTH_LABELS[m - 1], 12) for m in range(1, 13)], _col("total", _("total"), 14),
            _col("out_of_balance", _("out of balance"), 10)]


def grid_rows(*, user: User, plan: TargetPlan, metric: Metric, product_line_id: int | None) -> list[dict[str, Any]]:
    """The plan grid as `user` sees it: one row per unit, person and unallocated line."""
    data = grid_data(user=user, plan=plan, metric=metric, product_line_id=product_line_id)
    ids = {r["unit"] for r in data["rows"] if r["unit"]}
    people_ids = {r["person"] for r in data["rows"] if r["person"]}
    units = dict(OrgUnit.objects.filter(pk__in=ids).values_list("pk", "code"))
    people = dict(User.objects.filter(pk__in=people_ids).values_list("pk", "username"))
    out = []
    for r in data["rows"]:
        kind = "unallocated" if r["is_unallocated"] else ("person" if r["is_person"] else "unit")
        row = {"node": people.get(r["person"]) if r["person"] else units.get(r["unit"]), "name": r["label"],
               "kind": str(KIND_LABELS[kind]), "depth": r["depth"], "metric": metric.label, "total": r["total"],
               "out_of_balance": any(r["out_of_balance"])}
        row.update({f"m{m}": r["months"][m - 1] for m in range(1, 13)})
        out.append(row)
    return out


def completion_columns() -> list[Column]:
    return [_col("kind", _("type"), 8), _col("code", _("unit/person"), 16), _col("name", _("name"), 24),
            _col("metric", _("metric"), 16), _col("period", _("period"), 12), _col("start", _("from"), 12),
            _col("end", _("to"), 12), _col("target", _("target")), _col("actual", _("actual")),
            _col("ratio", _("completion %"), 10), _col("pipeline", _("weighted pipeline")), _col("gap", _("gap")),
            _col("forecast", _("forecast")), _col("forecast_basis", _("forecast basis"), 28)]


def _completion_row(c: selectors.Completion) -> dict[str, Any]:
    kind = "person" if isinstance(c.subject, User) else "unit"
    return {"kind": str(KIND_LABELS[kind]), "code": _code(c.subject), "name": str(c.subject),
            "metric": c.metric.label, "period": str(Period(c.period).label), "start": c.start, "end": c.end,
            "target": c.target, "actual": c.actual, "ratio": c.ratio, "pipeline": c.pipeline, "gap": c.gap,
            "forecast": c.forecast, "forecast_basis": c.forecast_basis_label}


def completion_rows(*, user: User, subject: OrgUnit | User, period: str, on, metric: Metric | None = None
                    ) -> list[dict[str, Any]]:  # noqa: ANN001
    """Completion of `subject` per metric (or the one metric); 404 when `user` may not see the subject."""
    plan = selectors.plan_in_force(year=on.year)
    metrics = [metric] if metric is not None else list(selectors.metric_list())
    return [_completion_row(selectors.completion(user=user, metric=m, subject=subject, on=on, period=period,
                                                 plan=plan)) for m in metrics]


def ranking_columns() -> list[Column]:
    return [_col("group", _("ranking"), 10), _col("rank", _("rank"), 6), *completion_columns()]


def ranking_rows(*, user: User, unit: OrgUnit, metric: Metric, period: str, on) -> list[dict[str, Any]]:  # noqa: ANN001
    ranking = selectors.completion_ranking(user=user, metric=metric, unit=unit, on=on, period=period,
                                           plan=selectors.plan_in_force(year=on.year))
    out = []
    for group, label in (("units", _("units")), ("people", _("people"))):
        for rank, c in enumerate(ranking[group], start=1):
            out.append({"group": str(label), "rank": rank, **_completion_row(c)})
    return out


# ---- responses ----------------------------------------------------------------------------------

def _respond(request: HttpRequest, *, name: str, label: Any, columns: list[Column], rows: list[dict[str, Any]],
             fmt: str) -> HttpResponse:
    entity = ExportEntity(name=name, label=label, queryset=lambda **kw: None, sorts={}, columns=lambda: columns)
    prepared = PreparedExport(entity, RowSource(rows), columns, "", filters_as_json(request.GET),
                              translation.get_language() or "", [capfirst(str(c.label)) for c in columns])
    return export_response(prepared=prepared, fmt=fmt, user=request.user, channel=ExportChannel.UI)


def _bad(request: HttpRequest, errors: dict[str, Any], label: Any) -> HttpResponse:
    errors = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in errors.items()}
    return render(request, "exchange/export_error.html", {"errors": errors, "entity": {"label": label}}, status=400)


def _format(fmt: str) -> str:
    if fmt not in ExportFormat.values:
        raise Http404
    return fmt


@login_required
@require_GET
def plan_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """One metric of a plan's grid, the rows within the user's reach."""
    fmt = _format(fmt)
    plan = selectors.plan_get(pk=pk)
    label = _("target plan")
    query = GridQuerySerializer(data=request.GET)
    if not query.is_valid():
        return _bad(request, query.errors, label)
    metric = query.validated_data.get("metric") or selectors.metric_list().filter(
        pk__in=plan.lines.values("metric_id")).first() or selectors.metric_list().first()
    if metric is None:
        raise Http404
    line = query.validated_data.get("product_line")
    rows = grid_rows(user=request.user, plan=plan, metric=metric, product_line_id=line.pk if line else None)
    return _respond(request, name="target-plan", label=label, columns=grid_columns(), rows=rows, fmt=fmt)


@login_required
@require_GET
def completion_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """Completion of a person (`person`), a unit (`unit`) or oneself, every metric or `metric`."""
    fmt = _format(fmt)
    label = _("target completion")
    data = request.GET.copy()
    if not data.get("subject"):  # the page's parameters: a person, else a unit, else oneself
        data["subject"] = "person" if data.get("person") else ("unit" if data.get("unit") else "me")
    query = CompletionQuerySerializer(data=data)
    if not query.is_valid():
        return _bad(request, query.errors, label)
    q = query.validated_data
    subject = q.get(q["subject"]) if q["subject"] != "me" else request.user
    rows = completion_rows(user=request.user, subject=subject, period=q["period"],
                           on=q.get("on") or timezone.localdate(), metric=q.get("metric"))
    return _respond(request, name="target-completion", label=label, columns=completion_columns(), rows=rows, fmt=fmt)


@login_required
@require_GET
def ranking_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The units directly below `unit` and its people, ranked by completion of `metric`."""
    fmt = _format(fmt)
    label = _("target ranking")
    query = RankingQuerySerializer(data=request.GET)
    if not query.is_valid():
        return _bad(request, query.errors, label)
    q = query.validated_data
    metric = q.get("metric") or selectors.metric_list().first()
    if metric is None:
        raise Http404
    rows = ranking_rows(user=request.user, unit=q["unit"], metric=metric, period=q["period"],
                        on=q.get("on") or timezone.localdate())
    return _respond(request, name="target-ranking", label=label, columns=ranking_columns(), rows=rows, fmt=fmt)
