"""Sales UI: the opportunity list and board, the opportunity page with its stage path and history,
the create/edit form with product lines, stage moves, the funnel, and the account 360's card.

Thin views (parse → selector or service → render). Every read goes through the selectors, which go
through org.selectors.visible; an opportunity the user may not see (or edit) is a 404, never a 403.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kamcrm.core.forms import add_service_errors
from kamcrm.core.pagination import bounded_count
from kamcrm.core.services import validation_error_dict
from kamcrm.customers import selectors as customer_selectors
from kamcrm.org.selectors import EDIT, can
from kamcrm.sales import selectors, services
from kamcrm.sales.changes import week_over_week
from kamcrm.sales.choices import StageKind
from kamcrm.sales.forms import (
    FunnelFilterForm,
    MoveForm,
    OpportunityFilterForm,
    OpportunityForm,
    line_formset,
)
from kamcrm.sales.models import Opportunity

__all__ = ["account_opportunities", "funnel", "opportunity_add", "opportunity_board", "opportunity_detail",
           "opportunity_edit", "opportunity_list", "opportunity_move"]

PAGE_SIZE = 50
BOARD_CARDS = 20
ACCOUNT_CARD_ROWS = 10
SORT_LABELS = {"-updated": gettext_lazy("Recently updated"), "close": gettext_lazy("Expected close"),
               "-amount": gettext_lazy("Largest amount"), "name": gettext_lazy("Name A–Z")}
DEFAULT_SORT = "-updated"


# ---- helpers ------------------------------------------------------------------------------------

def _filters(request: HttpRequest) -> QueryDict:
    data = request.GET.copy()
    for key in ("sort", "cursor"):
        data.pop(key, None)
    return data


def _bad(*forms) -> int:  # noqa: ANN002
    return 400 if any(f.is_bound and f.errors for f in forms) else 200


def _messages(exc: ValidationError) -> str:
    return " ".join(str(m) for msgs in validation_error_dict(exc).values() for m in msgs)


def _stage_query(filters: QueryDict, stage_id: int) -> str:
    """The list's URL with these filters narrowed to one stage (board "more" links, funnel drill-down)."""
    data = filters.copy()
    for key in ("stage", "kind", "sort", "cursor"):
        data.pop(key, None)
    data["stage"] = str(stage_id)
    return f"{reverse('sales:opportunity_list')}?{data.urlencode()}"


# ---- list and board -----------------------------------------------------------------------------

@login_required
@require_GET
def opportunity_list(request: HttpRequest) -> HttpResponse:
    stages = selectors.stage_choices(active_only=False)
    form = OpportunityFilterForm(request.GET, stages=stages)
    sort = request.GET.get("sort") or DEFAULT_SORT
    page, count, capped = None, 0, False
    if form.is_valid():
        filters = _filters(request)
        try:
            page = selectors.opportunity_list(user=request.user, filters=filters, sort=sort,
                                              cursor=request.GET.get("cursor") or None, page_size=PAGE_SIZE)
            count, capped = bounded_count(selectors.opportunity_filtered(user=request.user, filters=filters))
        except ValidationError as exc:
            add_service_errors(form, exc)
            page = None
    return render(request, "sales/opportunity_list.html", {
        "form": form, "page": page, "count": count, "count_label": f"{intcomma(count)}+" if capped else intcomma(count),
        "sort": sort, "sorts": list(SORT_LABELS.items()), "filtered": bool(form.active_filters()),
    }, status=_bad(form))


@login_required
@require_GET
def opportunity_board(request: HttpRequest) -> HttpResponse:
    stages = selectors.stage_choices(active_only=False)
    form = OpportunityFilterForm(request.GET, stages=stages)
    columns = None
    if form.is_valid():
        filters = _filters(request)
        try:
            columns = selectors.opportunity_board(user=request.user, filters=filters, per_column=BOARD_CARDS)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            for column in columns:
                column.more_url = _stage_query(filters, column.stage.pk)
    return render(request, "sales/opportunity_board.html", {
        "form": form, "columns": columns, "filtered": bool(form.active_filters()),
        "empty": columns is not None and not any(c.count for c in columns),
    }, status=_bad(form))


# ---- one opportunity ----------------------------------------------------------------------------

def _stage_path(opportunity: Opportunity, stages: list) -> list[dict[str, Any]]:
    """The stage bar: open stages in order, then won, lost and abandoned, each marked done/current."""
    current = opportunity.stage
    steps = []
    for stage in stages:
        if not stage.is_active and stage.pk != current.pk:
            continue
        if stage.kind == StageKind.OPEN:
            done = current.kind == StageKind.WON or (current.kind == StageKind.OPEN and stage.order < current.order)
        else:
            done = False
        steps.append({"stage": stage, "current": stage.pk == current.pk, "done": done,
                      "lost": stage.kind == StageKind.LOST})
    return steps


def _history_rows(history: list) -> list[dict[str, Any]]:
    now = timezone.now()
    rows = []
    for entry in history:
        seconds = entry.seconds_in_stage if entry.left_at is not None else (now - entry.changed_at).total_seconds()
        rows.append({"entry": entry, "days": round(max(0, seconds or 0) / 86400, 1), "current": entry.left_at is None})
    return rows


@login_required
@require_GET
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = selectors.opportunity_get(user=request.user, pk=pk)
    stages = selectors.stage_choices(active_only=False)
    history = selectors.opportunity_history(opportunity=opportunity)
    lines = selectors.opportunity_lines(opportunity=opportunity)
    return render(request, "sales/opportunity.html", {
        "opportunity": opportunity, "account": opportunity.account,
        "may_edit": can(request.user, opportunity, EDIT),
        "path": _stage_path(opportunity, stages),
        "lines": lines, "lines_total": sum((line.amount for line in lines), Decimal("0")),
        "contacts": selectors.opportunity_contacts(opportunity=opportunity),
        "collaborators": selectors.opportunity_collaborators(opportunity=opportunity),
        "history_rows": _history_rows(history),
    })


def _save_errors(form: OpportunityForm, formset, exc: ValidationError) -> list[str]:  # noqa: ANN001
    """A service's errors onto the form's fields; the product lines' errors above the lines table."""
    errors = validation_error_dict(exc)
    line_errors = [str(m) for m in errors.pop("lines", [])]
    if errors:
        add_service_errors(form, ValidationError(errors))
    return line_errors


def _form_page(request: HttpRequest, form, formset, *, opportunity=None, account=None,  # noqa: ANN001
               line_errors: list[str] | None = None) -> HttpResponse:
    status = 400 if request.method == "POST" else 200
    return render(request, "sales/opportunity_form.html", {
        "form": form, "formset": formset, "opportunity": opportunity, "account": account,
        "line_errors": line_errors or [],
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_add(request: HttpRequest) -> HttpResponse:
    initial: dict[str, Any] = {"owner": request.user}
    account = None
    if request.GET.get("account"):
        try:
            account = customer_selectors.account_get(user=request.user, pk=int(request.GET["account"]), action=EDIT)
        except ValueError:
            account = None
        if account is not None:
            initial["account"] = account
    form = OpportunityForm(request.POST or None, user=request.user, initial=initial)
    formset = line_formset(request.POST or None)
    line_errors: list[str] = []
    if request.method == "POST":
        form_ok, lines_ok = form.is_valid(), formset.is_valid()
        if form_ok and lines_ok:
            try:
                opportunity = services.opportunity_create_for(user=request.user,
                                                              **form.service_data(formset.service_lines()))
            except ValidationError as exc:
                line_errors = _save_errors(form, formset, exc)
            else:
                messages.success(request, _("Opportunity “%(name)s” created.") % {"name": opportunity})
                return redirect("sales:opportunity", pk=opportunity.pk)
    return _form_page(request, form, formset, account=account, line_errors=line_errors)


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = selectors.opportunity_get(user=request.user, pk=pk)
    if not can(request.user, opportunity, EDIT):
        raise Http404
    form = OpportunityForm(request.POST or None, user=request.user, opportunity=opportunity)
    lines = selectors.opportunity_lines(opportunity=opportunity)
    formset = line_formset(request.POST or None, lines=lines, extra=1 if lines else 2)
    line_errors: list[str] = []
    if request.method == "POST":
        form_ok, lines_ok = form.is_valid(), formset.is_valid()
        if form_ok and lines_ok:
            try:
                opportunity = services.opportunity_update_for(user=request.user, opportunity_id=opportunity.pk,
                                                              data=form.service_data(formset.service_lines()))
            except ValidationError as exc:
                line_errors = _save_errors(form, formset, exc)
            else:
                messages.success(request, _("Opportunity “%(name)s” saved.") % {"name": opportunity})
                return redirect("sales:opportunity", pk=opportunity.pk)
    return _form_page(request, form, formset, opportunity=opportunity, account=opportunity.account,
                      line_errors=line_errors)


@login_required
@require_POST
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move to another stage: from the stage buttons (redirect back with a message) or the board
    (htmx; JSON {"ok", "message"}, 422 when the service refuses so that the card goes back)."""
    is_htmx = request.headers.get("HX-Request") == "true"
    form = MoveForm(request.POST)
    target = reverse("sales:opportunity", args=[pk])
    if form.is_valid():
        nxt = form.cleaned_data.get("next") or ""
        if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
            target = nxt
        try:
            opportunity = services.opportunity_move_for(user=request.user, opportunity_id=pk,
                                                        stage_id=form.cleaned_data["stage"],
                                                        lost_reason=form.lost_reason_or_none())
        except ValidationError as exc:
            message, errors = _messages(exc), validation_error_dict(exc)
        else:
            message = _("“%(name)s” moved to “%(stage)s”.") % {"name": opportunity, "stage": opportunity.stage.label}
            if is_htmx:
                return JsonResponse({"ok": True, "message": message, "stage": opportunity.stage_id,
                                     "probability": opportunity.probability})
            messages.success(request, message)
            return redirect(target)
    else:
        message, errors = _("Choose a stage."), {"stage": [_("Choose a stage.")]}
    if is_htmx:
        return JsonResponse({"ok": False, "message": message, "errors": errors}, status=422)
    messages.error(request, message)
    return redirect(target)


# ---- funnel -------------------------------------------------------------------------------------

@login_required
@require_GET
def funnel(request: HttpRequest) -> HttpResponse:
    form = FunnelFilterForm(request.GET)
    result, chart, totals, empty = None, None, {}, True
    measure = "count"
    if form.is_valid():
        measure = form.cleaned_data.get("measure") or "count"
        result = selectors.funnel(user=request.user, **form.selector_args())
        base = urlencode(form.list_query())
        for row in result.rows:
            row.list_url = f"{reverse('sales:opportunity_list')}?stage={row.stage.pk}" + (f"&{base}" if base else "")
        totals = {kind: result.total(kind) for kind in (StageKind.OPEN, StageKind.WON, StageKind.LOST)}
        empty = not any(row.count or row.reached for row in result.rows)
        chart = {
            "measure": measure,
            "title": str({"amount": _("Amount (CNY)"), "reached": _("Reached")}.get(measure, _("Opportunities"))),
            "stages": [{"name": row.stage.label, "id": row.stage.pk, "count": row.count, "amount": str(row.amount),
                        "reached": row.reached,
                        "value": {"amount": float(row.amount), "reached": row.reached}.get(measure, row.count)}
                       for row in result.open_rows],
        }
    weeks = []
    if result is not None and not empty:
        args = form.selector_args()
        for name, start, buckets in week_over_week(user=request.user, day=args["as_of"], unit=args["unit"],
                                                   owner=args["owner"]):
            label = _("This week (from %(d)s)") if name == "this" else _("The week before (from %(d)s)")
            weeks.append({"label": label % {"d": date_format(start, "Y-m-d")}, "buckets": [
                (key, CHANGE_LABELS[key], bucket.count, bucket.amount,
                 f"{reverse('sales:opportunity_list')}?ids={','.join(map(str, bucket.ids[:DRILL_IDS]))}")
                for key, bucket in buckets.items()]})
    return render(request, "sales/funnel.html", {
        "form": form, "funnel": result, "chart": chart, "totals": totals, "empty": empty, "measure": measure,
        "filtered": bool(form.active_filters()), "weeks": weeks,
    }, status=_bad(form))


# The week-over-week card's rows; a bucket's link lists (at most DRILL_IDS of) the deals behind it.
CHANGE_LABELS = {"new": gettext_lazy("new"), "advanced": gettext_lazy("advanced"), "slipped": gettext_lazy("slipped"),
                 "won": gettext_lazy("won"), "lost": gettext_lazy("lost or abandoned")}
DRILL_IDS = 200


# ---- the account 360's card ----------------------------------------------------------------------

@login_required
@require_GET
def account_opportunities(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx partial for the account 360 page: the account's opportunities (a fixed number of queries)."""
    account = customer_selectors.account_get(user=request.user, pk=pk)
    data = selectors.account_opportunities(user=request.user, account_id=account.pk, limit=ACCOUNT_CARD_ROWS)
    return render(request, "sales/_account_opportunities.html", {
        "account": account, "data": data, "may_edit": can(request.user, account, EDIT),
        "count_label": f"{intcomma(data.count)}+" if data.capped else intcomma(data.count),
    })
