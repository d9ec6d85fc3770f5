"""Target pages (K7): the plans, one plan's grid (units down, months across, children + unallocated =
parent visible, out-of-balance flagged) and completion for a person, a unit or the company."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from kamcrm.targets import selectors
from kamcrm.targets.forms import CompletionFilterForm, PlanGridForm


@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    return render(request, "targets/plan_list.html", {"plans": selectors.plan_list()[:50], "section": "targets"})


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(pk=pk)
    form = PlanGridForm(request.GET)
    context = {"plan": plan, "form": form, "section": "targets"}
    if not form.is_valid():
        return render(request, "targets/plan_detail.html", context, status=400)
    metric = form.cleaned_data["metric"] or selectors.metric_list().filter(
        pk__in=plan.lines.values("metric_id")).first() or selectors.metric_list().first()
    rows = selectors.plan_grid(user=request.user, plan=plan, metric=metric) if metric else []
    context.update({"metric": metric, "rows": rows, "months": range(1, 13),
                    "unbalanced": any(r.any_out_of_balance for r in rows),
                    "reviews": plan.reviews.select_related("unit", "by").order_by("-at", "-id")[:50]})
    return render(request, "targets/plan_detail.html", context)


@login_required
def completion(request: HttpRequest) -> HttpResponse:
    form = CompletionFilterForm(request.GET)
    context = {"form": form, "section": "targets"}
    if not form.is_valid():
        return render(request, "targets/completion.html", context, status=400)
    data = form.cleaned_data
    subject = data["person"] or data["unit"] or request.user
    on = data["on"] or timezone.localdate()
    period = data["period"] or "month"
    plan = selectors.plan_in_force(year=on.year)
    rows = [selectors.completion(user=request.user, metric=m, subject=subject, on=on, period=period, plan=plan)
            for m in selectors.metric_list()]
    ranking = grid = None
    metric = data["metric"] or selectors.metric_list().first()
    if data["unit"] is not None and metric is not None:
        ranking = selectors.completion_ranking(user=request.user, metric=metric, unit=data["unit"], on=on,
                                               period=period, plan=plan)
        grid = selectors.completion_by_unit_month(user=request.user, metric=metric, year=on.year, plan=plan,
                                                  unit=data["unit"])
    context.update({"subject": subject, "on": on, "plan": plan, "rows": rows, "ranking": ranking,
                    "ranking_metric": metric, "grid": grid, "months": range(1, 13)})
    return render(request, "targets/completion.html", context)
