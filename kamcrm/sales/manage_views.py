"""Sales managers' pages: reassign an account (with what moves by policy), and the funnel health alerts
with the opportunities behind each (only those the viewer may see)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kamcrm.core.forms import add_service_errors
from kamcrm.core.pagination import keyset_page
from kamcrm.customers.selectors import account_get
from kamcrm.org.selectors import EDIT, VIEW, can, visible
from kamcrm.sales.health import can_maintain_rules, funnel_rule_check, funnel_rule_save
from kamcrm.sales.manage_forms import ReassignForm
from kamcrm.sales.models import FunnelRule, Opportunity
from kamcrm.sales.reassign import account_reassign_for
from kamcrm.sales.rule_forms import FunnelRuleForm
from kamcrm.sales.selectors import alert_queryset

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


@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    try:
        page = keyset_page(alert_queryset(request.user), order=["-raised_at", "-id"],
                           cursor=request.GET.get("cursor") or None, page_size=PAGE_SIZE)
    except ValidationError:
        raise Http404 from None
    return render(request, "sales_manage/alert_list.html", {"page": page,
                                                             "may_maintain": can_maintain_rules(request.user)})


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


__all__ = ["account_reassign", "alert_detail", "alert_list", "rule_edit", "rule_list", "rule_run"]


# --- funnel health rules ------------------------------------------------------------------------------


def _require_rules(user) -> None:  # noqa: ANN001
    if not can_maintain_rules(user):
        raise PermissionDenied(_("Only administrators and business management maintain the funnel rules."))


@login_required
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    _require_rules(request.user)
    rules = list(FunnelRule.objects.select_related("unit", "product_line", "task_owner").order_by("name", "id")[:500])
    return render(request, "sales_manage/rule_list.html", {"rules": rules})


@login_required
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_rules(request.user)
    rule = get_object_or_404(FunnelRule, pk=pk) if pk is not None else None
    form = FunnelRuleForm(request.POST or None, rule=rule)
    if request.method == "POST" and form.is_valid():
        try:
            funnel_rule_save(rule=rule, data=form.service_data(), by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc, field_map={"params": "__all__"})
        else:
            messages.success(request, _("The rule is saved; it is checked daily."))
            return redirect("sales_manage:rule_list")
    return render(request, "sales_manage/rule_form.html", {"form": form, "rule": rule},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def rule_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Check one rule now (as the daily run would); it still fires at most once per period."""
    _require_rules(request.user)
    rule = get_object_or_404(FunnelRule, pk=pk)
    raised = funnel_rule_check(rule=rule, by=request.user)
    if raised:
        messages.success(request, _("The rule fired: %(metric)s.") % {"metric": raised[0].metric})
    else:
        messages.info(request, _("Nothing new: the rule did not fire, or it already fired this period."))
    return redirect("sales_manage:rule_list")
