"""POA pages (K8): the list of action plans, a new plan, and one plan's page showing its current cycle as
PDCA steps (objectives with target, live actual and gap; actions) with a form for each step, and the
earlier cycles with their check figures and feedback.

Thin views: parse → service or selector → render. A plan the user may not see is a 404; the services
decide every rule and their ValidationError comes back onto the form field it names.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from kamcrm.core.forms import add_service_errors
from kamcrm.core.services import validation_error_dict
from kamcrm.org.selectors import EDIT
from kamcrm.poa import selectors, services
from kamcrm.poa.choices import ActionStatus, CycleStatus
from kamcrm.poa.forms import ActionForm, CycleOpenForm, FeedbackForm, ObjectiveForm, PlanFilterForm, PlanForm

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
