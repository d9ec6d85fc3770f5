"""Customers UI: account list, account 360, account/contact/team forms and the htmx partials.

Thin views (parse → selector or service → render). Every read goes through the selectors, which go
through org.selectors.visible; a record the user may not see (or edit) is a 404, never a 403.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import ValidationError
from django.db.models import DateTimeField
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kamcrm.audit.timeline import kind_label, kind_order
from kamcrm.core.attributes import definitions_for
from kamcrm.core.forms import account_label, add_service_errors
from kamcrm.core.models import AttributeType
from kamcrm.core.pagination import bounded_count
from kamcrm.customers import selectors, services
from kamcrm.customers.forms import (
    AccountFilterForm,
    AccountForm,
    ContactFilterForm,
    ContactForm,
    InteractionForm,
    TeamMemberForm,
)
from kamcrm.customers.models import Account, Contact
from kamcrm.org.choices import UnitKind
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import EDIT, VIEW, can, visible

__all__ = [
    "account_add", "account_detail", "account_edit", "account_history", "account_list", "account_lookup",
    "account_timeline", "contact_add", "contact_delete", "contact_detail", "contact_edit", "contact_list",
    "interaction_add", "team_member_add", "team_member_edit", "team_member_remove",
]

PAGE_SIZE = 50
CONTACTS_ON_360 = 20
TIMELINE_PAGE = 20
HISTORY_PAGE = 10
SUBSIDIARIES_SHOWN = 50
LOOKUP_LIMIT = 20
SORT_LABELS = {"name": gettext_lazy("Name A–Z"), "-name": gettext_lazy("Name Z–A"),
               "-updated": gettext_lazy("Recently updated"), "updated": gettext_lazy("Least recently updated")}


# ---- helpers ------------------------------------------------------------------------------------

def _filters(request: HttpRequest) -> QueryDict:
    data = request.GET.copy()
    for key in ("sort", "cursor"):
        data.pop(key, None)
    return data


def _count_label(count: int, capped: bool) -> str:
    return f"{intcomma(count)}+" if capped else intcomma(count)


def _list_context(request: HttpRequest, form, list_selector, queryset_selector, *, sorts) -> dict:  # noqa: ANN001
    """One keyset page of a filtered list, its bounded count, and the filter errors on the form."""
    sort = request.GET.get("sort") or "name"
    cursor = request.GET.get("cursor") or None
    page, count, capped = None, 0, False
    if form.is_valid():
        try:
            filters = _filters(request)
            page = list_selector(user=request.user, filters=filters, sort=sort, cursor=cursor, page_size=PAGE_SIZE)
            count, capped = bounded_count(queryset_selector(user=request.user, filters=filters))
        except ValidationError as exc:
            add_service_errors(form, exc)
            page = None
    return {"form": form, "page": page, "count": count, "count_label": _count_label(count, capped), "sort": sort,
            "sorts": sorts, "filtered": bool(form.active_filters())}


def _bad(form) -> int:  # noqa: ANN001
    return 400 if form.is_bound and form.errors else 200


def _saved_redirect(request: HttpRequest, account: Account, message: str) -> HttpResponse:
    """To the 360 page; or to the list if the save moved the account out of the user's sight."""
    messages.success(request, message)
    if can(request.user, account, VIEW):
        return redirect("customers:account", pk=account.pk)
    messages.info(request, _("You no longer have access to “%(name)s”.") % {"name": account})
    return redirect("customers:account_list")


def _attribute_display(defn, value) -> str:  # noqa: ANN001
    if value is None or value == "" or value == []:
        return "—"
    if defn.type == AttributeType.BOOLEAN:
        return _("yes") if value else _("no")
    if defn.type == AttributeType.MULTI_CHOICE and isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value


def _timeline_context(request: HttpRequest, account: Account) -> dict[str, Any]:
    kinds = [k for k in request.GET.getlist("kind") if k]
    cursor = request.GET.get("cursor") or None
    try:
        page = selectors.account_timeline(account=account, kinds=kinds or None, cursor=cursor, page_size=TIMELINE_PAGE)
    except ValidationError:
        raise Http404 from None
    for event in page.items:
        changes = event.data.get("changes") if isinstance(event.data, dict) else None
        event.changed_fields = _field_labels(event.content_type_id, changes) \
            if changes and event.kind == "field_change" else []
    return {"timeline": page, "kinds": kinds,
            "kind_query": "&".join(f"kind={k}" for k in kinds)}


def _field_labels(content_type_id: int | None, changes: dict) -> list[str]:
    model = ContentType.objects.get_for_id(content_type_id).model_class() if content_type_id else None
    fields = {f.attname: f for f in model._meta.concrete_fields} if model else {}
    return [str(fields[name].verbose_name) if name in fields else name for name in changes]


def _kind_chips(account: Account, kinds: list[str]) -> list[dict[str, Any]]:
    counts = selectors.timeline_kind_counts(account=account)
    order = kind_order()
    present = sorted(counts, key=lambda k: (order.index(k) if k in order else len(order), k))
    chips = []
    for kind in present:
        toggled = [k for k in kinds if k != kind] if kind in kinds else [*kinds, kind]
        count, capped = counts[kind]
        chips.append({"kind": kind, "label": kind_label(kind), "count": count, "capped": capped,
                      "active": kind in kinds, "query": "&".join(f"kind={k}" for k in toggled)})
    return chips


def _display_value(field, value, names: dict) -> str:  # noqa: ANN001
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if field is not None and getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if field is not None and field.is_relation:
        return names.get((field.related_model, value)) or f"#{value}"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(field, DateTimeField) and isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None:
            return date_format(timezone.localtime(parsed) if timezone.is_aware(parsed) else parsed, "Y-m-d H:i")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _history_rows(entries: list) -> list[dict[str, Any]]:
    """Audit entries with labelled fields and the names of people and units (one query per model)."""
    wanted: dict[type, set] = {User: set(), OrgUnit: set()}
    prepared = []
    for entry in entries:
        model = entry.content_type.model_class()
        fields = {f.attname: f for f in model._meta.concrete_fields} if model else {}
        pairs = []
        for name, pair in (entry.changes or {}).items():
            if name == "id":
                continue
            before, after = (list(pair) + [None, None])[:2] if isinstance(pair, list) else (None, pair)
            field = fields.get(name)
            if field is not None and field.is_relation and field.related_model in wanted:
                wanted[field.related_model].update(v for v in (before, after) if v)
            pairs.append((name, field, before, after))
        prepared.append((entry, model, pairs))
    names: dict[tuple, str] = {}
    for model, ids in wanted.items():
        if ids:
            names.update({(model, obj.pk): str(obj) for obj in model.objects.filter(pk__in=ids)})
    rows = []
    for entry, model, pairs in prepared:
        changes = [{"field": str(field.verbose_name) if field is not None else name,
                    "before": _display_value(field, before, names), "after": _display_value(field, after, names)}
                   for name, field, before, after in pairs]
        rows.append({"entry": entry, "model": model._meta.verbose_name if model else entry.content_type.model,
                     "changes": changes})
    return rows


def _default_region(user: User) -> OrgUnit | None:
    if not user.unit_id:
        return None
    path = user.unit.path
    prefixes = [path[: i + 1] for i, ch in enumerate(path) if ch == "."]
    return (OrgUnit.objects.filter(kind__in=[UnitKind.BRANCH, UnitKind.REGION], path__in=prefixes)
            .order_by("-depth").first())


# ---- accounts -----------------------------------------------------------------------------------

@login_required
@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    form = AccountFilterForm(request.GET)
    context = _list_context(request, form, selectors.account_list, selectors.account_queryset,
                            sorts=list(SORT_LABELS.items()))
    return render(request, "customers/account_list.html", context, status=_bad(form))


@login_required
@require_GET
def account_lookup(request: HttpRequest) -> JsonResponse:
    """Visible accounts for the parent and account pickers: {"results": [{"id", "text"}]}."""
    accounts = selectors.account_lookup(user=request.user, q=request.GET.get("q", ""), limit=LOOKUP_LIMIT)
    return JsonResponse({"results": [{"id": a.pk, "text": account_label(a)} for a in accounts]})


def _account_context(request: HttpRequest, account: Account, *, interaction_form=None) -> dict[str, Any]:  # noqa: ANN001
    user = request.user
    may_edit = can(user, account, EDIT)
    ancestors = selectors.account_ancestors(account=account, user=user)
    seen_ancestors = set(
        visible(Account.objects.filter(pk__in=[a.pk for a in ancestors]), user).values_list("pk", flat=True)
    ) if ancestors else set()
    rollup = selectors.group_rollup(user=user, account=account) \
        if selectors.account_has_subsidiaries(account=account) else None
    contacts, contact_count, contacts_capped = selectors.account_contacts(account=account, limit=CONTACTS_ON_360)
    definitions = definitions_for("account")
    attributes = [{"label": d.label, "value": _attribute_display(d, account.attributes.get(d.key)),
                   "key": d.key} for d in definitions]
    unknown = sorted(set(account.attributes or {}) - {d.key for d in definitions})
    attributes += [{"label": key, "value": account.attributes[key], "key": key} for key in unknown]
    timeline = _timeline_context(request, account)
    history = selectors.account_history(account=account, page_size=HISTORY_PAGE)
    if may_edit and interaction_form is None:
        interaction_form = InteractionForm(account=account, contacts=contacts)
    return {
        "account": account,
        "may_edit": may_edit,
        "ancestors": [(a, a.pk in seen_ancestors) for a in ancestors],
        "rollup": rollup,
        "subsidiaries": rollup.subsidiaries[:SUBSIDIARIES_SHOWN] if rollup else [],
        "more_subsidiaries": max(0, len(rollup.subsidiaries) - SUBSIDIARIES_SHOWN) if rollup else 0,
        "contacts": contacts, "contact_count": contact_count, "contacts_capped": contacts_capped,
        "team": selectors.account_team(account=account),
        "attributes": attributes,
        "chips": _kind_chips(account, timeline["kinds"]),
        **timeline,
        "history": history, "history_rows": _history_rows(history.items),
        "interaction_form": interaction_form,
    }


@login_required
@require_GET
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(user=request.user, pk=pk)
    return render(request, "customers/account.html", _account_context(request, account))


@login_required
@require_GET
def account_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx partial: the whole timeline panel, or (with a cursor) the next page of its items."""
    account = selectors.account_get(user=request.user, pk=pk)
    context = {"account": account, **_timeline_context(request, account)}
    if request.GET.get("cursor"):
        return render(request, "customers/_timeline_items.html", context)
    context["chips"] = _kind_chips(account, context["kinds"])
    context["may_edit"] = False  # the log form is not part of the partial
    return render(request, "customers/_timeline.html", context)


@login_required
@require_GET
def account_history(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx partial: a page of the account's audit history (the account and what hangs off it)."""
    account = selectors.account_get(user=request.user, pk=pk)
    try:
        page = selectors.account_history(account=account, cursor=request.GET.get("cursor") or None,
                                         page_size=HISTORY_PAGE)
    except ValidationError:
        raise Http404 from None
    return render(request, "components/history_rows.html", {
        "account": account, "history": page, "history_rows": _history_rows(page.items),
        "history_url": reverse("customers:account_history", args=[account.pk]),
    })


@login_required
@require_http_methods(["GET", "POST"])
def account_add(request: HttpRequest) -> HttpResponse:
    initial = {"owner": request.user, "region": _default_region(request.user)}
    form = AccountForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.account_create(by=request.user, **form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _saved_redirect(request, account, _("Account “%(name)s” created.") % {"name": account})
    return render(request, "customers/account_form.html", {"form": form, "account": None}, status=_bad(form))


@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(user=request.user, pk=pk, action=EDIT)
    form = AccountForm(request.POST or None, user=request.user, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.account_update_for(user=request.user, account_id=account.pk, data=form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _saved_redirect(request, account, _("Account “%(name)s” saved.") % {"name": account})
    return render(request, "customers/account_form.html", {"form": form, "account": account}, status=_bad(form))


@login_required
@require_POST
def interaction_add(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(user=request.user, pk=pk, action=EDIT)
    form = InteractionForm(request.POST, account=account)
    if form.is_valid():
        try:
            services.interaction_log(account=account, by=request.user, **form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Logged on the timeline."))
            return redirect(reverse("customers:account", args=[account.pk]) + "#timeline")
    context = _account_context(request, account, interaction_form=form)
    return render(request, "customers/account.html", context, status=400)


# ---- contacts -----------------------------------------------------------------------------------

@login_required
@require_GET
def contact_list(request: HttpRequest) -> HttpResponse:
    form = ContactFilterForm(request.GET)
    context = _list_context(request, form, selectors.contact_list, selectors.contact_queryset,
                            sorts=[("name", SORT_LABELS["name"]), ("-name", SORT_LABELS["-name"])])
    return render(request, "customers/contact_list.html", context, status=_bad(form))


@login_required
@require_GET
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(user=request.user, pk=pk)
    definitions = definitions_for("contact")
    history = selectors.record_history(model=Contact, pk=contact.pk, page_size=HISTORY_PAGE)
    return render(request, "customers/contact.html", {
        "contact": contact,
        "account": contact.account,
        "may_edit": can(request.user, contact.account, EDIT),
        "attributes": [{"label": d.label, "value": _attribute_display(d, contact.attributes.get(d.key))}
                       for d in definitions],
        "history": history, "history_rows": _history_rows(history.items),
    })


@login_required
@require_http_methods(["GET", "POST"])
def contact_add(request: HttpRequest) -> HttpResponse:
    initial = {}
    account = None
    if request.GET.get("account"):
        try:
            account = selectors.account_get(user=request.user, pk=int(request.GET["account"]), action=EDIT)
        except ValueError:
            raise Http404 from None
        initial["account"] = account
    form = ContactForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(by=request.user, **form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Contact “%(name)s” added.") % {"name": contact})
            return redirect("customers:contact", pk=contact.pk)
    return render(request, "customers/contact_form.html", {"form": form, "contact": None, "account": account},
                  status=_bad(form))


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(user=request.user, pk=pk, action=EDIT)
    form = ContactForm(request.POST or None, user=request.user, contact=contact)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_update(contact=contact, data=form.service_data(), by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Contact “%(name)s” saved.") % {"name": contact})
            return redirect("customers:contact", pk=contact.pk)
    return render(request, "customers/contact_form.html",
                  {"form": form, "contact": contact, "account": contact.account}, status=_bad(form))


@login_required
@require_http_methods(["GET", "POST"])
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(user=request.user, pk=pk, action=EDIT)
    if request.method == "POST":
        account = contact.account
        services.contact_delete(contact=contact, by=request.user)
        messages.success(request, _("Contact “%(name)s” deleted.") % {"name": contact})
        return redirect("customers:account", pk=account.pk)
    return render(request, "customers/confirm_delete.html", {
        "object": contact, "account": contact.account,
        "title": _("Delete contact"),
        "question": _("Delete the contact “%(name)s” of %(account)s?") % {"name": contact, "account": contact.account},
        "cancel_url": reverse("customers:contact", args=[contact.pk]),
        "confirm_label": _("Delete"),
    })


# ---- account team -------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def team_member_add(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(user=request.user, pk=pk, action=EDIT)
    form = TeamMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.team_member_add(account=account, user=form.cleaned_data["user"], by=request.user,
                                              **form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("%(user)s joined the account team.") % {"user": member.user})
            return redirect(reverse("customers:account", args=[account.pk]) + "#team")
    return render(request, "customers/team_member_form.html", {"form": form, "account": account, "member": None},
                  status=_bad(form))


@login_required
@require_http_methods(["GET", "POST"])
def team_member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.team_member_get(user=request.user, pk=pk, action=EDIT)
    form = TeamMemberForm(request.POST or None, member=member)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.team_member_update(member=member, data=form.service_data(), by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Account team member %(user)s saved.") % {"user": member.user})
            return redirect(reverse("customers:account", args=[member.account_id]) + "#team")
    return render(request, "customers/team_member_form.html",
                  {"form": form, "account": member.account, "member": member}, status=_bad(form))


@login_required
@require_http_methods(["GET", "POST"])
def team_member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.team_member_get(user=request.user, pk=pk, action=EDIT)
    if request.method == "POST":
        services.team_member_remove(member=member, by=request.user)
        messages.success(request, _("%(user)s left the account team.") % {"user": member.user})
        return redirect(reverse("customers:account", args=[member.account_id]) + "#team")
    return render(request, "customers/confirm_delete.html", {
        "object": member, "account": member.account,
        "title": _("Remove from the account team"),
        "question": _("Remove %(user)s from the account team of %(account)s?")
        % {"user": member.user, "account": member.account},
        "cancel_url": reverse("customers:account", args=[member.account_id]) + "#team",
        "confirm_label": _("Remove"),
    })
