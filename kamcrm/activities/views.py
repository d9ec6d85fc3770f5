"""Tasks UI: my tasks (and my reports'), overdue ones flagged; the calendar of visits and due dates with
its iCalendar feed; planning and recording visits; sales plans."""
from __future__ import annotations

import calendar as pycalendar
import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kamcrm.activities.choices import PlanStatus, TaskStatus
from kamcrm.activities.forms import SalesPlanForm, VisitForm, VisitRecordForm
from kamcrm.activities.ical import calendar_ics
from kamcrm.activities.models import CalendarFeed
from kamcrm.activities.selectors import calendar_entries, sales_plan_queryset, task_queryset, visit_queryset
from kamcrm.activities.services import (
    calendar_feed_token,
    sales_plan_create,
    sales_plan_update,
    task_set_status,
    visit_cancel,
    visit_plan,
    visit_record,
)
from kamcrm.core.forms import add_service_errors
from kamcrm.core.pagination import keyset_page
from kamcrm.customers.models import Account
from kamcrm.org.selectors import EDIT, can, get_visible_or_404

PAGE_SIZE = 50


@login_required
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or TaskStatus.OPEN
    if status not in TaskStatus.values:
        status = TaskStatus.OPEN
    mine = request.GET.get("who") != "team"
    qs = task_queryset(request.user).filter(status=status)
    if mine:
        qs = qs.filter(assignee=request.user)
    try:
        page = keyset_page(qs, order=["due_on", "id"], cursor=request.GET.get("cursor") or None, page_size=PAGE_SIZE)
    except ValidationError:
        raise Http404 from None
    return render(request, "activities/task_list.html", {
        "page": page, "status": status, "mine": mine, "statuses": TaskStatus.choices, "today": timezone.localdate()})


@login_required
@require_POST
def task_status(request: HttpRequest, pk: int) -> HttpResponse:
    task = task_queryset(request.user).filter(pk=pk).first()
    if task is None:
        raise Http404
    task_set_status(task=task, status=request.POST.get("status", ""), by=request.user)
    return redirect(request.POST.get("next") or "activities:task_list")


# --- calendar, visits, sales plans ---------------------------------------------------------------------


def _month(raw: str | None) -> dt.date:
    try:
        return dt.datetime.strptime(raw or "", "%Y-%m").date()
    except ValueError:
        return timezone.localdate().replace(day=1)


@login_required
@require_GET
def calendar(request: HttpRequest) -> HttpResponse:
    """A month of visits and task due dates, mine or my team's."""
    first = _month(request.GET.get("month"))
    team = request.GET.get("who") == "team"
    weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    entries = calendar_entries(user=request.user, start=weeks[0][0], end=weeks[-1][-1], team=team)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return render(request, "activities/calendar.html", {
        "first": first, "team": team, "today": timezone.localdate(), "previous": previous, "following": following,
        "weeks": [[(day, entries.get(day, [])) for day in week] for week in weeks],
        "feed_url": request.build_absolute_uri(reverse("activities:calendar_feed",
                                                       args=[calendar_feed_token(user=request.user)])),
    })


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar feed; the secret token in the address is the only credential (calendar apps send
    no cookies), so it is long, random, per person and can be replaced."""
    feed = CalendarFeed.objects.select_related("user").filter(token=token, user__is_active=True).first()
    if feed is None:
        raise Http404
    response = HttpResponse(calendar_ics(user=feed.user, host=request.get_host().split(":")[0]),
                            content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="kamcrm.ics"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def calendar_feed_renew(request: HttpRequest) -> HttpResponse:
    calendar_feed_token(user=request.user, renew=True)
    messages.success(request, _("Your calendar address was replaced; the old one no longer works."))
    return redirect("activities:calendar")


def _account_for_edit(request: HttpRequest, pk) -> Account:  # noqa: ANN001
    try:
        return get_visible_or_404(Account.objects.all(), request.user, EDIT, pk=int(pk))
    except (TypeError, ValueError):
        raise Http404 from None


@login_required
def visit_add(request: HttpRequest) -> HttpResponse:
    account = _account_for_edit(request, request.GET.get("account"))
    form = VisitForm(request.POST or None, account=account, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            visit = visit_plan(account=account, by=request.user, owner=data["owner"], starts_at=data["starts_at"],
                               ends_at=data["ends_at"], purpose=data["purpose"], location=data["location"],
                               contacts=list(data["contacts"]), opportunity=data["opportunity"],
                               preparation=data["preparation"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("activities:visit", pk=visit.pk)
    return render(request, "activities/visit_form.html", {"form": form, "account": account},
                  status=400 if form.errors else 200)


@login_required
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visit = visit_queryset(request.user).filter(pk=pk).first()
    if visit is None:
        raise Http404
    may_edit = can(request.user, visit.account, EDIT)
    form = VisitRecordForm(request.POST or None)
    if request.method == "POST":
        if not may_edit:
            raise Http404
        if request.POST.get("action") == "cancel":
            try:
                visit_cancel(visit=visit, by=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            return redirect("activities:visit", pk=visit.pk)
        if form.is_valid():
            try:
                visit_record(visit=visit, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect("activities:visit", pk=visit.pk)
    return render(request, "activities/visit.html",
                  {"visit": visit, "form": form, "may_edit": may_edit, "contacts": list(visit.contacts.all())},
                  status=400 if form.errors else 200)


@login_required
def sales_plan_add(request: HttpRequest) -> HttpResponse:
    account = _account_for_edit(request, request.GET.get("account"))
    form = SalesPlanForm(request.POST or None, account=account, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            plan = sales_plan_create(account=account, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("activities:sales_plan", pk=plan.pk)
    return render(request, "activities/sales_plan_form.html", {"form": form, "account": account},
                  status=400 if form.errors else 200)


@login_required
def sales_plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = sales_plan_queryset(request.user).filter(pk=pk).first()
    if plan is None:
        raise Http404
    if request.method == "POST":
        if not can(request.user, plan.account, EDIT):
            raise Http404
        try:
            sales_plan_update(plan=plan, data={"status": request.POST.get("status", "")}, by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("activities:sales_plan", pk=plan.pk)
    return render(request, "activities/sales_plan.html", {
        "plan": plan, "visits": list(plan.visits.order_by("starts_at")[:50]), "statuses": PlanStatus.choices,
        "may_edit": can(request.user, plan.account, EDIT)})
