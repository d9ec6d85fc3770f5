"""Revenue analysis (K4–K6): expected versus billed revenue and collected cash per product line and per
unit, by month, against the product plan and the weighted pipeline, with drill-down to the accounts."""
from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.analytics import selectors
from kamcrm.analytics.forms import MEASURE_LABELS, RevenueFilterForm
from kamcrm.products.models import ProductLine

ZERO = Decimal("0.00")


def _query(form: RevenueFilterForm, **extra) -> str:
    args = {k: v for k, v in form.data.items() if v not in ("", None) and k in form.fields}
    args.update({k: v for k, v in extra.items() if v is not None})
    return urlencode(args)


@login_required
def revenue(request: HttpRequest) -> HttpResponse:
    data = request.GET.copy()
    data.setdefault("year", str(timezone.localdate().year))  # shown in the field, not only assumed
    form = RevenueFilterForm(data)
    context = {"form": form, "section": "analytics", "measure_labels": MEASURE_LABELS}
    if not form.is_valid():
        return render(request, "analytics/revenue.html", context, status=400)
    args = form.args()
    year, measure = args["year"], args["measure"]
    narrow = {"unit": args["unit"], "owner": args["owner"], "region": args["region"]}
    by_line = selectors.revenue_by_line_month(user=request.user, year=year, **narrow)
    pipeline = selectors.pipeline_by_line_month(user=request.user, year=year, **narrow)
    ordered = selectors.orders_by_line_month(user=request.user, year=year, **narrow)
    plan = selectors.plan_by_line(year=year, region=args["region"])
    lines = []
    for line, values in by_line["lines"]:
        key = line.pk if line else None
        lines.append({"line": line, "values": values, "totals": {m: sum(v, ZERO) for m, v in values.items()},
                      "pipeline": pipeline.pop(key, [ZERO] * 12), "ordered": ordered.pop(key, [ZERO] * 12),
                      "plan": plan.get(key), "drill": "?" + _query(form, line=key)})
    # Lines with pipeline or orders but no revenue yet.
    other_lines = ProductLine.objects.in_bulk([k for k in {*pipeline, *ordered} if k])
    for key in sorted({*pipeline, *ordered}, key=lambda k: (k is None, k or 0)):
        line = other_lines.get(key)
        lines.append({"line": line, "values": {m: [ZERO] * 12 for m in selectors.MEASURES},
                      "totals": dict.fromkeys(selectors.MEASURES, ZERO), "pipeline": pipeline.get(key, [ZERO] * 12),
                      "ordered": ordered.get(key, [ZERO] * 12), "plan": plan.get(key),
                      "drill": "?" + _query(form, line=key)})
    for row in lines:
        row["pipeline_total"] = sum(row["pipeline"], ZERO)
        row["ordered_total"] = sum(row["ordered"], ZERO)
        row["measures"] = [(key, label, row["values"][key], row["totals"][key]) for key, label in MEASURE_LABELS.items()]
    grid = selectors.revenue_by_unit_month(user=request.user, year=year, measure=measure, **narrow)
    units = [{"unit": unit, "cells": cells, "total": sum(cells, ZERO), "url": "?" + _query(form, unit=unit.pk)}
             for unit, cells in grid.rows]
    chart = {"months": [m.strftime("%Y-%m") for m in by_line["months"]],
             "series": {m: [str(sum((row["values"][m][i] for row in lines), ZERO)) for i in range(12)]
                        for m in selectors.MEASURES},
             "labels": {m: str(label) for m, label in MEASURE_LABELS.items()},
             "pipeline": [str(sum((row["pipeline"][i] for row in lines), ZERO)) for i in range(12)],
             "pipeline_label": _("Weighted pipeline")}
    context.update({"year": year, "measure": measure, "measure_label": MEASURE_LABELS[measure], "months": by_line["months"], "lines": lines, "units": units,
                    "unit_totals": grid.totals, "unit_total": grid.total, "chart": chart,
                    "empty": not lines and not units, "filtered": any(v for v in narrow.values())})
    return render(request, "analytics/revenue.html", context)


@login_required
def revenue_accounts(request: HttpRequest) -> HttpResponse:
    """The accounts behind a figure of the revenue page (largest first, at most 100)."""
    form = RevenueFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "analytics/revenue_accounts.html", {"form": form, "section": "analytics"}, status=400)
    args = form.args()
    month = request.GET.get("month")
    line = request.GET.get("line")
    rows = selectors.revenue_accounts(
        user=request.user, year=args["year"], month=int(month) if month and month.isdigit() else None,
        measure=args["measure"], unit=args["unit"], owner=args["owner"], region=args["region"],
        product_line_id=int(line) if line and line.isdigit() else None)
    return render(request, "analytics/revenue_accounts.html", {
        "form": form, "section": "analytics", "rows": rows, "year": args["year"], "month": month,
        "measure_label": MEASURE_LABELS[args["measure"]], "back": "?" + _query(form)})
