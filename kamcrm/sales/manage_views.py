"""Sales managers' pages: reassign an account (with what moves by policy), and the funnel health alerts
with the opportunities behind each (only those the viewer may see)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from kamcrm.core.forms import add_service_errors
from kamcrm.core.pagination import keyset_page
from kamcrm.customers.selectors import account_get
from kamcrm.org.choices import Role
from kamcrm.org.models import User
from kamcrm.org.selectors import EDIT, VIEW, can, is_administrator, reach, visible
from kamcrm.sales.manage_forms import ReassignForm
from kamcrm.sales.models import FunnelAlert, Opportunity
from kamcrm.sales.reassign import account_reassign_for

PAGE_SIZE = 50


@login_required
def account_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_get(user=request.user, pk=pk)
    if not can(request.user, account, EDIT):
        raise Http404
    form = ReassignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = account_reassign_for(user=request.user, account_id=account.pk, owner=data["owner"],
                                          effective_on=data["effective_on"], policy=data["policy"],
                                          reason=data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("%(account)s now belongs to %(owner)s; %(o)d opportunities and %(t)d tasks "
                                        "moved.") % {"account": account, "owner": result.new_owner,
                                                     "o": result.opportunities, "t": result.tasks})
            return redirect("customers:account", pk=account.pk)
    return render(request, "sales_manage/reassign.html", {"account": account, "form": form},
                  status=400 if form.errors else 200)


def alert_queryset(user: User):
    """Alerts a person may read: administrators, executives and business management all; others those
    whose task they hold, and those about a unit that overlaps a subtree they see by role or head
    (a unit inside it, or one above it whose pipeline includes theirs, or the whole company)."""
    qs = FunnelAlert.objects.select_related("rule", "rule__unit", "task", "task__assignee")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if is_administrator(user) or user.role in (Role.EXECUTIVE, Role.BUSINESS_MANAGEMENT):
        return qs
    paths = reach(user, VIEW).unit_paths
    covered = Q(task__assignee=user)
    if paths:
        covered |= Q(rule__unit__isnull=True)
    for path in paths:
        ancestors = [path[: i + 1] for i, ch in enumerate(path) if ch == "."]
        covered |= Q(rule__unit__path__startswith=path) | Q(rule__unit__path__in=ancestors)
    return qs.filter(covered)


@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    try:
        page = keyset_page(alert_queryset(request.user), order=["-raised_at", "-id"],
                           cursor=request.GET.get("cursor") or None, page_size=PAGE_SIZE)
    except ValidationError:
        raise Http404 from None
    return render(request, "sales_manage/alert_list.html", {"page": page})


@login_required
@require_GET
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = alert_queryset(request.user).filter(pk=pk).first()
    if alert is None:
        raise Http404
    ids = alert.opportunity_ids[:200]
    shown = list(visible(Opportunity.objects.filter(pk__in=ids), request.user, VIEW)
                 .select_related("account", "owner", "stage").order_by("-amount", "id"))
    return render(request, "sales_manage/alert.html",
                  {"alert": alert, "opportunities": shown, "hidden": len(alert.opportunity_ids) - len(shown)})


__all__ = ["account_reassign", "alert_detail", "alert_list"]
