"""POA pages (K8): the list of action plans, a new plan, and one plan's page showing its current cycle as
PDCA steps (objectives with target, live actual and gap; actions) with a form for each step, and the
earlier cycles with their check figures and feedback.

Thin views: parse → service or selector → render. A plan the user may not see is a 404; the services
decide every rule and their ValidationError comes back onto the form field it names.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from kamcrm.core.forms import add_service_errors
from kamcrm.core.services import validation_error_dict
from kamcrm.org.selectors import EDIT
from kamcrm.poa import selectors, services
from kamcrm.poa.choices import ActionStatus, CycleStatus, WeeklyStatus
from kamcrm.poa.forms import (
    ActionForm,
    CycleOpenForm,
    FeedbackForm,
    ObjectiveForm,
    PlanFilterForm,
    PlanForm,
    ReviewForm,
    RollupFilterForm,
    WeeklyItemForm,
    WeeklyReportForm,
    WeekPickForm,
)
from kamcrm.poa.models import WeeklyItem

PAGE_SIZE = 50
STEPS = [CycleStatus.PLAN, CycleStatus.DO, CycleStatus.CHECK, CycleStatus.ACT]
STEP_DONE = {
    "start": gettext_lazy("Cycle started: the actions are being worked (do)."),
    "check": gettext_lazy("Check step: plan versus actual taken from the live figures."),
    "act": gettext_lazy("Act step: record the feedback to close the cycle."),
    "feedback": gettext_lazy("Feedback recorded; the cycle is closed and the next one may open."),
}


@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    form = PlanFilterForm(request.GET)
    page = None
    if form.is_valid():
        try:
            page = selectors.plan_list(user=request.user, filters=form.cleaned_data,
                                       cursor=request.GET.get("cursor") or None, page_size=PAGE_SIZE)
        except ValidationError as exc:
            add_service_errors(form, exc)
    return render(request, "poa/plan_list.html", {
        "form": form, "page": page, "filtered": bool(form.active_filters()), "section": "poa",
        "overdue": selectors.overdue_actions(user=request.user, limit=20),
    }, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def plan_add(request: HttpRequest) -> HttpResponse:
    form = PlanForm(request.POST or None, initial=request.GET.dict() or None)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_create_for(user=request.user, kind=form.cleaned_data["kind"],
                                            subject=form.subject(request.user), title=form.cleaned_data["title"],
                                            owner=form.cleaned_data.get("owner"))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Action plan created; open its first cycle."))
            return redirect("poa:plan_detail", plan.pk)
    return render(request, "poa/plan_form.html", {"form": form, "section": "poa"},
                  status=400 if form.errors else 200)


def _detail(request: HttpRequest, pk: int, bound: dict[str, Any] | None = None, status: int = 200) -> HttpResponse:
    bound = bound or {}
    plan = selectors.plan_detail(user=request.user, plan_id=pk)
    cycle = plan.current_cycle
    may_edit = selectors.plan_queryset(request.user, EDIT).filter(pk=plan.pk).exists()
    figures = selectors.cycle_figures(cycle=cycle) if cycle is not None else []
    checked = {row["objective"]: row for row in (cycle.check_figures.get("objectives", []) if cycle else [])}
    for row in figures:
        row.checked = checked.get(row.objective.pk)
    open_form = bound.get("cycle")
    if open_form is None and (cycle is None or cycle.feedback_recorded):
        open_form = CycleOpenForm()
    return render(request, "poa/plan_detail.html", {
        "plan": plan, "cycle": cycle, "figures": figures, "may_edit": may_edit, "steps": STEPS,
        "step_index": STEPS.index(cycle.status) if cycle is not None and cycle.status in STEPS else len(STEPS),
        "earlier": plan.cycle_list[1:], "open_form": open_form,
        "objective_form": bound.get("objective") or ObjectiveForm(),
        "action_form": bound.get("action") or ActionForm(),
        "feedback_form": bound.get("feedback") or FeedbackForm(),
        "action_statuses": ActionStatus, "section": "poa",
    }, status=status)


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, pk)


@login_required
@require_POST
def cycle_open(request: HttpRequest, pk: int) -> HttpResponse:
    form = CycleOpenForm(request.POST)
    if form.is_valid():
        try:
            cycle = services.cycle_open_for(user=request.user, plan_id=pk, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Cycle %(n)s opened: set its objectives and actions.") % {"n": cycle.number})
            return redirect("poa:plan_detail", pk)
    return _detail(request, pk, {"cycle": form}, status=400)


@login_required
@require_POST
def cycle_step(request: HttpRequest, pk: int, cycle_pk: int, step: str) -> HttpResponse:
    form = FeedbackForm(request.POST) if step == "feedback" else None
    if form is not None and not form.is_valid():
        return _detail(request, pk, {"feedback": form}, status=400)
    try:
        services.cycle_step_for(user=request.user, plan_id=pk, cycle_id=cycle_pk, step=step,
                                feedback=form.cleaned_data["feedback"] if form is not None else "")
    except ValidationError as exc:
        if form is not None:
            add_service_errors(form, exc)
            return _detail(request, pk, {"feedback": form}, status=400)
        for msgs in validation_error_dict(exc).values():
            for message in msgs:
                messages.error(request, message)
        return redirect("poa:plan_detail", pk)
    messages.success(request, STEP_DONE.get(step, ""))
    return redirect("poa:plan_detail", pk)


@login_required
@require_POST
def objective_add(request: HttpRequest, pk: int, cycle_pk: int) -> HttpResponse:
    form = ObjectiveForm(request.POST)
    if form.is_valid():
        try:
            services.objective_add_for(user=request.user, plan_id=pk, cycle_id=cycle_pk, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Objective added."))
            return redirect("poa:plan_detail", pk)
    return _detail(request, pk, {"objective": form}, status=400)


@login_required
@require_POST
def action_add(request: HttpRequest, pk: int, cycle_pk: int) -> HttpResponse:
    form = ActionForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        data["owner"] = data.get("owner") or request.user
        try:
            services.action_add_for(user=request.user, plan_id=pk, cycle_id=cycle_pk, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Action added."))
            return redirect("poa:plan_detail", pk)
    return _detail(request, pk, {"action": form}, status=400)


@login_required
@require_POST
def action_status(request: HttpRequest, pk: int, action_pk: int) -> HttpResponse:
    try:
        services.action_update_for(user=request.user, plan_id=pk, action_id=action_pk,
                                   data={"status": request.POST.get("status", "")})
    except ValidationError as exc:
        for msgs in validation_error_dict(exc).values():
            for message in msgs:
                messages.error(request, message)
    return redirect("poa:plan_detail", pk)


# ---- weekly plans and reports ------------------------------------------------------------------------

def _errors_to_messages(request: HttpRequest, exc: ValidationError) -> None:
    for msgs in validation_error_dict(exc).values():
        for message in msgs:
            messages.error(request, message)


def _not_theirs(request: HttpRequest, exc: ValidationError) -> bool:
    """A write on someone else's week (a manager looking at it): say so on the page rather than on a form."""
    if "person" not in validation_error_dict(exc):
        return False
    _errors_to_messages(request, exc)
    return True


@login_required
def weekly_mine(request: HttpRequest) -> HttpResponse:
    """The user's weeks: this week's and next week's plan at hand, another week by picking it, the latest."""
    form = WeekPickForm(request.GET or None)
    if form.is_bound and form.is_valid() and form.cleaned_data["week"]:
        return redirect("poa:weekly_week", *form.cleaned_data["week"])
    today = timezone.localdate()
    this_week = selectors.week_of(today)
    next_week = selectors.week_of(today + dt.timedelta(days=7))
    return render(request, "poa/weekly_mine.html", {
        "form": form, "weeks": selectors.weekly_mine(user=request.user), "this_week": this_week,
        "next_week": next_week, "section": "poa",
    }, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def weekly_week(request: HttpRequest, year: int, week: int) -> HttpResponse:
    """The user's plan for one week: opens it when it exists, else offers to start it (POST)."""
    try:
        start = selectors.week_start(year, week)
    except ValidationError as exc:
        raise Http404 from exc
    existing = selectors.weekly_for(person=request.user, year=year, week=week)
    if existing is not None:
        return redirect("poa:weekly_detail", existing.pk)
    error = None
    if request.method == "POST":
        try:
            weekly = services.weekly_create(person=request.user, year=year, week=week, by=request.user)
        except ValidationError as exc:
            error = " ".join(m for msgs in validation_error_dict(exc).values() for m in msgs)
        else:
            messages.success(request, _("Weekly plan started: add what you will do this week."))
            return redirect("poa:weekly_detail", weekly.pk)
    return render(request, "poa/weekly_start.html", {
        "year": year, "week": week, "label": selectors.week_label(year, week), "start": start,
        "end": start + dt.timedelta(days=6), "error": error, "section": "poa",
    }, status=400 if error else 200)


def _weekly_page(request: HttpRequest, pk: int, bound: dict[str, Any] | None = None, status: int = 200) -> HttpResponse:
    bound = bound or {}
    weekly = selectors.weekly_detail(user=request.user, weekly_id=pk)
    is_owner = weekly.person_id == request.user.pk
    editable = is_owner and weekly.status != WeeklyStatus.REVIEWED
    records = selectors.week_records(person=weekly.person, start=weekly.week_start)
    figures = selectors.week_figures(person_ids=[weekly.person_id], start=weekly.week_start)[weekly.person_id]
    report_form = bound.get("report")
    if report_form is None and editable:
        suggested = selectors.suggest_outcomes(weekly.item_list, records)
        report_form = WeeklyReportForm(items=weekly.item_list, suggested=suggested, initial={
            "summary": weekly.summary or _summary_from(figures), "next_focus": weekly.next_focus})
    return render(request, "poa/weekly_detail.html", {
        "weekly": weekly, "items": weekly.item_list, "is_owner": is_owner, "editable": editable,
        "records": records, "figures": figures, "report_form": report_form,
        "item_form": bound.get("item") or (WeeklyItemForm(person=weekly.person) if editable else None),
        "review_form": bound.get("review") or ReviewForm(),
        "may_review": weekly.status == WeeklyStatus.SUBMITTED and selectors.may_review(request.user, weekly),
        "planned": len(weekly.item_list), "done": sum(1 for i in weekly.item_list if i.done),
        "future": weekly.week_start > timezone.localdate(), "section": "poa",
    }, status=status)


def _summary_from(figures: selectors.WeekFigures) -> str:
    """The report's first draft: the week's figures in words, so they need not be retyped."""
    return _("Visits made: %(visits)s; tasks done: %(tasks)s; opportunities moved on: %(moved)s; "
             "opportunities won: %(won)s (¥%(amount)s).") % {
        "visits": figures.visits, "tasks": figures.tasks, "moved": figures.moved, "won": figures.won,
        "amount": f"{figures.won_amount:,.2f}"}


@login_required
def weekly_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _weekly_page(request, pk)


@login_required
@require_POST
def weekly_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    weekly = selectors.weekly_visible_or_404(user=request.user, weekly_id=pk)
    form = WeeklyItemForm(request.POST, person=weekly.person)
    if form.is_valid():
        try:
            services.weekly_item_add(weekly=weekly, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            if _not_theirs(request, exc):
                return redirect("poa:weekly_detail", pk)
            add_service_errors(form, exc, field_map={"status": "title"})
        else:
            messages.success(request, _("Item added."))
            return redirect("poa:weekly_detail", pk)
    return _weekly_page(request, pk, {"item": form}, status=400)


@login_required
@require_POST
def weekly_item_remove(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    weekly = selectors.weekly_visible_or_404(user=request.user, weekly_id=pk)
    item = WeeklyItem.objects.filter(weekly=weekly, pk=item_pk).first()
    if item is None:
        raise Http404
    try:
        services.weekly_item_remove(item=item, by=request.user)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    else:
        messages.success(request, _("Item removed."))
    return redirect("poa:weekly_detail", pk)


@login_required
@require_POST
def weekly_share(request: HttpRequest, pk: int) -> HttpResponse:
    weekly = selectors.weekly_visible_or_404(user=request.user, weekly_id=pk)
    try:
        services.weekly_plan_submit(weekly=weekly, by=request.user)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    else:
        messages.success(request, _("Plan shared with your manager."))
    return redirect("poa:weekly_detail", pk)


@login_required
@require_POST
def weekly_report(request: HttpRequest, pk: int) -> HttpResponse:
    weekly = selectors.weekly_detail(user=request.user, weekly_id=pk)
    form = WeeklyReportForm(request.POST, items=weekly.item_list)
    submit = request.POST.get("action") == "submit"
    if form.is_valid():
        try:
            services.weekly_report_save(weekly=weekly, outcomes=form.outcomes(), summary=form.cleaned_data["summary"],
                                        next_focus=form.cleaned_data["next_focus"], submit=submit, by=request.user)
        except ValidationError as exc:
            if _not_theirs(request, exc):
                return redirect("poa:weekly_detail", pk)
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Report submitted.") if submit else _("Report saved as a draft."))
            return redirect("poa:weekly_detail", pk)
    return _weekly_page(request, pk, {"report": form}, status=400)


@login_required
@require_POST
def weekly_review(request: HttpRequest, pk: int) -> HttpResponse:
    weekly = selectors.weekly_visible_or_404(user=request.user, weekly_id=pk)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            services.weekly_review(weekly=weekly, comment=form.cleaned_data["review_comment"], by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Review recorded."))
            return redirect("poa:weekly_detail", pk)
    return _weekly_page(request, pk, {"review": form}, status=400)


@login_required
def weekly_rollup(request: HttpRequest) -> HttpResponse:
    """For a unit's subtree and a week: every sales person the user reaches, whether their plan and report
    are in, planned versus done, and the week's live figures."""
    units = selectors.rollup_units(request.user)
    data = request.GET.copy()
    default_unit = selectors.default_rollup_unit(request.user)
    this_week = selectors.week_of(timezone.localdate())
    data.setdefault("unit", str(default_unit.pk) if default_unit else "")
    data.setdefault("week", selectors.week_label(*this_week))
    form = RollupFilterForm(data, units=units)
    rows, unit, week = [], None, this_week
    if form.is_valid():
        unit = form.cleaned_data["unit"]
        week = form.cleaned_data["week"] or this_week
        if unit is not None:
            rows = selectors.week_rollup(user=request.user, unit=unit, year=week[0], week=week[1])
    start = selectors.week_start(*week)
    totals = {
        "people": len(rows), "plans": sum(r.plan_in for r in rows), "reports": sum(r.report_in for r in rows),
        "planned": sum(r.planned for r in rows), "done": sum(r.done for r in rows),
        "visits": sum(r.figures.visits for r in rows), "tasks": sum(r.figures.tasks for r in rows),
        "moved": sum(r.figures.moved for r in rows), "won": sum(r.figures.won for r in rows),
        "won_amount": sum((r.figures.won_amount for r in rows), Decimal("0.00")),
    }
    previous, following = start - dt.timedelta(days=7), start + dt.timedelta(days=7)
    return render(request, "poa/weekly_rollup.html", {
        "form": form, "rows": rows, "unit": unit, "label": selectors.week_label(*week), "start": start,
        "end": start + dt.timedelta(days=6), "totals": totals,
        "previous": selectors.week_label(*selectors.week_of(previous)),
        "following": selectors.week_label(*selectors.week_of(following)), "section": "poa",
    }, status=400 if form.errors else 200)
