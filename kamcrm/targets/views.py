"""Target pages (K7): the plans, one plan's grid (units down, months across, children + unallocated =
parent visible, out-of-balance flagged) with the forms that set, split, rebalance and review it, and
completion for a person, a unit or the company (charts, ranking, the records behind every actual).

Thin views: parse → service or selector → render. The services decide every rule (who may plan or
approve which level, locked plans, over-allocation); their ValidationError comes back onto the form."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kamcrm.core.forms import add_service_errors
from kamcrm.org.models import OrgUnit, User
from kamcrm.targets import selectors, services
from kamcrm.targets.choices import PlanStatus, RebalanceMode, ReviewAction
from kamcrm.targets.forms import (
    CompletionFilterForm,
    MonthsForm,
    PlanCreateForm,
    PlanGridForm,
    ReviewForm,
    SuggestForm,
)
from kamcrm.targets.models import Metric


@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    may_create = services.may_create_plans(request.user)
    return render(request, "targets/plan_list.html", {
        "plans": selectors.plan_list()[:50], "section": "targets", "may_create": may_create,
        "create_form": PlanCreateForm(initial={"year": timezone.localdate().year}) if may_create else None})


@login_required
@require_POST
def plan_create(request: HttpRequest) -> HttpResponse:
    form = PlanCreateForm(request.POST)
    if form.is_valid():
        try:
            plan = services.plan_create(year=form.cleaned_data["year"], name=form.cleaned_data["name"],
                                        by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Plan %(plan)s created: set the company's figures, then split them.")
                             % {"plan": plan})
            return redirect("targets:plan_detail", plan.pk)
    return render(request, "targets/plan_list.html", {
        "plans": selectors.plan_list()[:50], "section": "targets", "may_create": True, "create_form": form},
        status=400)


def _metric(plan, code: str | None) -> Metric | None:
    metrics = selectors.metric_list()
    if code:
        return metrics.filter(code=code).first()
    return metrics.filter(pk__in=plan.lines.values("metric_id")).first() or metrics.first()


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(pk=pk)
    form = PlanGridForm(request.GET)
    context = {"plan": plan, "form": form, "section": "targets"}
    if not form.is_valid():
        return render(request, "targets/plan_detail.html", context, status=400)
    metric = form.cleaned_data["metric"] or _metric(plan, None)
    rows = selectors.plan_grid(user=request.user, plan=plan, metric=metric) if metric else []
    root = OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
    plannable = selectors.plannable_units(user=request.user)
    context.update({
        "metric": metric, "rows": rows, "months": range(1, 13),
        "unbalanced": any(r.any_out_of_balance for r in rows),
        "reviews": plan.reviews.select_related("unit", "by").order_by("-at", "-id")[:50],
        "plannable": {u.pk for u in plannable}, "root": root,
        "editable": plan.status in (PlanStatus.DRAFT, PlanStatus.SENT_BACK, PlanStatus.APPROVED),
        "review_form": ReviewForm(initial={"unit": root}) if plannable else None,
    })
    if context["review_form"] is not None:
        context["review_form"].fields["unit"].queryset = OrgUnit.objects.filter(pk__in=[u.pk for u in plannable])
    return render(request, "targets/plan_detail.html", context)


def _edit_url(plan, metric, unit) -> str:
    return f"{reverse('targets:plan_edit', args=[plan.pk])}?metric={metric.code}&unit={unit.pk}"


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Set a unit's own figures (the company's, or a unit not split from above), or split them onto the
    units and people directly below it. One page, twelve months per row."""
    plan = selectors.plan_get(pk=pk)
    params = request.POST if request.method == "POST" else request.GET
    metric = _metric(plan, params.get("metric"))
    unit = OrgUnit.objects.filter(pk=params.get("unit") or 0, is_active=True).first() if (
        params.get("unit") or "").isdigit() else None
    if metric is None or unit is None or not services.may_plan(request.user, unit):
        raise Http404
    own = services.lines_by_node(plan=plan, metric=metric, nodes=[services.node_key(unit)])[services.node_key(unit)]
    has_own = plan.lines.filter(metric=metric, node=services.node_key(unit), is_unallocated=False).exists()
    mode = "split" if has_own and params.get("mode") != "set" else "set"
    children = selectors.split_children(plan=plan, metric=metric, unit=unit) if mode == "split" else [unit]
    if mode == "split":
        current = services.lines_by_node(plan=plan, metric=metric, nodes=[services.node_key(c) for c in children])
        initial = {i: current[services.node_key(c)] for i, c in enumerate(children)}
    else:
        initial = {0: own}
    suggest = SuggestForm(request.GET if "basis" in request.GET else None)
    if mode == "set" and request.method == "GET" and suggest.is_valid():
        growth = (suggest.cleaned_data["growth"] or 0) / 100
        initial = {0: selectors.target_suggest(user=request.user, metric=metric, subject=unit, year=plan.year,
                                               basis=suggest.cleaned_data["basis"], growth=growth)}
    form = MonthsForm(request.POST or None, rows=children, initial_months=initial, metric=metric)
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "equal" and mode == "split":
                written = services.target_decompose_by_shares(plan=plan, metric=metric, parent=unit,
                                                              shares={c: 1 for c in children}, by=request.user)
            elif form.is_valid():
                amounts = form.amounts()
                if mode == "split":
                    written = services.target_decompose(plan=plan, metric=metric, parent=unit, children=amounts,
                                                        by=request.user)
                else:
                    written = services.target_set(plan=plan, metric=metric, node=unit, amounts=amounts[unit],
                                                  by=request.user)
            else:
                written = None
        except ValidationError as exc:
            add_service_errors(form, exc)
            written = None
        if written is not None:
            if written.pk != plan.pk:
                messages.info(request, _("The approved plan stays as it was; your change is in version %(v)s.")
                              % {"v": written.version})
            else:
                messages.success(request, _("Targets of %(unit)s saved.") % {"unit": unit})
            return redirect(f"{reverse('targets:plan_detail', args=[written.pk])}?metric={metric.code}")
    return render(request, "targets/plan_edit.html", {
        "plan": plan, "metric": metric, "unit": unit, "mode": mode, "form": form, "months": range(1, 13),
        "own": own, "unallocated": services.unallocated_of(plan=plan, metric=metric, node=unit) if mode == "split"
        else None, "suggest": suggest, "section": "targets", "metrics": selectors.metric_list(),
        "set_url": _edit_url(plan, metric, unit) + "&mode=set",
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def plan_review(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(pk=pk)
    form = ReviewForm(request.POST)
    back = f"{reverse('targets:plan_detail', args=[plan.pk])}?metric={request.POST.get('metric', '')}"
    if form.is_valid():
        data = form.cleaned_data
        run = {ReviewAction.SUBMIT: services.plan_submit, ReviewAction.APPROVE: services.plan_approve,
               ReviewAction.SEND_BACK: services.plan_send_back}[data["action"]]
        try:
            review = run(plan=plan, unit=data["unit"], comment=data["comment"], by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("%(unit)s: %(action)s.") % {"unit": review.unit,
                                                                    "action": review.get_action_display()})
            return redirect(back)
    for error in [*form.non_field_errors(), *[e for f in form for e in f.errors]]:
        messages.error(request, error)
    return redirect(back)


@login_required
@require_POST
def plan_rebalance(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(pk=pk)
    metric = _metric(plan, request.POST.get("metric"))
    mode = request.POST.get("mode", RebalanceMode.UNALLOCATED)
    try:
        written = services.target_rebalance(plan=plan, metric=metric, mode=mode, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        written = plan
    else:
        messages.success(request, _("Rebalanced."))
    return redirect(f"{reverse('targets:plan_detail', args=[written.pk])}?metric={metric.code if metric else ''}")


@login_required
@require_POST
def plan_revise(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(pk=pk)
    if not services.may_create_plans(request.user):
        raise Http404
    try:
        new = services.plan_revise(plan=plan, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("targets:plan_detail", plan.pk)
    messages.success(request, _("Version %(v)s opened as a draft; the approved version stays as it was.")
                     % {"v": new.version})
    return redirect("targets:plan_detail", new.pk)


def _subject(request: HttpRequest, data: dict):
    return data.get("person") or data.get("unit") or request.user


@login_required
def completion(request: HttpRequest) -> HttpResponse:
    form = CompletionFilterForm(request.GET)
    context = {"form": form, "section": "targets"}
    if not form.is_valid():
        return render(request, "targets/completion.html", context, status=400)
    data = form.cleaned_data
    subject = _subject(request, data)
    on = data["on"] or timezone.localdate()
    period = data["period"] or "month"
    plan = selectors.plan_in_force(year=on.year)
    rows = [selectors.completion(user=request.user, metric=m, subject=subject, on=on, period=period, plan=plan)
            for m in selectors.metric_list()]
    ranking = grid = None
    metric = data["metric"] or selectors.metric_list().first()
    unit = data["unit"] if not data["person"] else None
    if unit is not None and metric is not None:
        ranking = selectors.completion_ranking(user=request.user, metric=metric, unit=unit, on=on,
                                               period=period, plan=plan)
        grid = selectors.completion_by_unit_month(user=request.user, metric=metric, year=on.year, plan=plan,
                                                  unit=unit)
    trend = selectors.completion_trend(user=request.user, metric=metric, subject=subject, year=on.year,
                                       plan=plan, grid=grid) if metric is not None else None
    context.update({"subject": subject, "on": on, "period": period, "plan": plan, "rows": rows,
                    "ranking": ranking, "ranking_metric": metric, "grid": grid, "months": range(1, 13),
                    "chart": selectors.completion_chart(rows=rows, ranking=ranking, trend=trend, metric=metric,
                                                        on=on),
                    "subject_param": (f"person={subject.pk}" if isinstance(subject, User)
                                      and subject != request.user else
                                      f"unit={subject.pk}" if isinstance(subject, OrgUnit) else "")})
    return render(request, "targets/completion.html", context)


@login_required
def completion_records(request: HttpRequest) -> HttpResponse:
    """The records behind one actual of the completion page."""
    form = CompletionFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "targets/completion_records.html", {"form": form, "section": "targets"}, status=400)
    data = form.cleaned_data
    metric = data["metric"] or get_object_or_404(Metric, code=request.GET.get("metric_code", ""))
    subject = _subject(request, data)
    on = data["on"] or timezone.localdate()
    start, _end, _months = selectors.period_bounds(data["period"] or "month", on)
    records, total, count = selectors.actual_records(user=request.user, metric=metric, subject=subject,
                                                     start=start, end=on)
    return render(request, "targets/completion_records.html", {
        "form": form, "metric": metric, "subject": subject, "start": start, "on": on, "records": records,
        "total": total, "count": count, "section": "targets",
        "actual": selectors.actual(metric=metric, subject=subject, start=start, end=on)})
