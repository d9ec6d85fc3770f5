"""Organisation UI: the unit tree, people, sharing rules, custom-attribute definitions and the CSV import.

Everyone logged in may read the tree, the people and the sharing rules; only administrators (role
administrator or superuser, `selectors.is_administrator`) may change anything, see the custom-attribute
definitions or import. Views parse, call a selector or service, and render.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views import View

from kamcrm.core import attribute_services
from kamcrm.core.models import AttributeDefinition, AttributeEntity
from kamcrm.core.pagination import bounded_count
from kamcrm.org import selectors, services
from kamcrm.org.forms import (
    AttributeDefinitionForm,
    OrgImportForm,
    OrgUnitForm,
    SharingRuleForm,
    UserFilterForm,
    UserForm,
    add_service_errors,
)
from kamcrm.org.importers import org_import, org_import_template
from kamcrm.org.models import SharingRule, User

__all__ = [
    "AttributeDefinitionDeleteView",
    "AttributeDefinitionEditView",
    "AttributeDefinitionListView",
    "OrgImportView",
    "SharingRuleDeleteView",
    "SharingRuleEditView",
    "SharingRuleListView",
    "UnitEditView",
    "UnitListView",
    "UnitView",
    "UserEditView",
    "UserListView",
    "UserView",
    "org_import_template_download",
]

MAX_INDENT = 5  # app.css has tree-indent-1 … tree-indent-5


class OrgView(LoginRequiredMixin, View):
    """Base: logged-in users only; `section` highlights the tab; `is_admin` drives the buttons."""

    section = ""
    admin_only = False

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and self.admin_only and not selectors.is_administrator(request.user):
            raise PermissionDenied(_("Only administrators may do this."))
        return super().dispatch(request, *args, **kwargs)

    def render(self, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
        context = {"section": self.section, "is_admin": selectors.is_administrator(self.request.user), **context}
        return render(self.request, template, context, status=status)


class ServiceEditView(OrgView):
    """Add (no pk) or edit (pk) one object through a form and a service. Administrators only."""

    admin_only = True
    form_class: type = None
    template_name = ""

    def get_object(self, pk: int | None):
        raise NotImplementedError

    def make_form(self, obj, data=None):
        if data is None and obj is not None:
            return self.form_class(initial=self.form_class.initial_for(obj))
        return self.form_class(data)

    def save(self, form, obj):
        raise NotImplementedError

    def context(self, form, obj) -> dict[str, Any]:
        return {"form": form, "object": obj}

    def get(self, request, pk: int | None = None):
        obj = self.get_object(pk)
        return self.render(self.template_name, self.context(self.make_form(obj), obj))

    def post(self, request, pk: int | None = None):
        obj = self.get_object(pk)
        form = self.make_form(obj, request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    saved = self.save(form, obj)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Saved “%(obj)s”.") % {"obj": saved})
                return redirect(self.success_url(saved))
        return self.render(self.template_name, self.context(form, obj))

    def success_url(self, obj) -> str:
        raise NotImplementedError


# --- organisation units --------------------------------------------------------------------------


class UnitListView(OrgView):
    section = "units"

    def get(self, request):
        units = list(selectors.unit_tree())
        for unit in units:
            unit.indent = min(unit.depth, MAX_INDENT)
        return self.render("org/unit_list.html", {"units": units})


class UnitView(OrgView):
    section = "units"

    def get(self, request, pk: int):
        unit = selectors.unit_get(pk=pk)
        members = selectors.unit_members(unit=unit)
        children = list(selectors.unit_children(unit=unit))
        member_count = len(members) if len(members) < 200 else User.objects.filter(unit=unit).count()
        return self.render("org/unit.html", {
            "unit": unit, "ancestors": selectors.unit_ancestors(unit=unit), "members": members,
            "member_count": member_count, "children": children,
        })


class UnitEditView(ServiceEditView):
    section = "units"
    form_class = OrgUnitForm
    template_name = "org/unit_form.html"

    def get_object(self, pk):
        return selectors.unit_get(pk=pk) if pk is not None else None

    def make_form(self, obj, data=None):
        if data is None and obj is None and self.request.GET.get("parent", "").isdigit():
            return OrgUnitForm(initial={"parent": int(self.request.GET["parent"]), "is_active": True})
        return super().make_form(obj, data)

    def save(self, form, obj):
        data = dict(form.cleaned_data)
        if obj is None:
            return services.org_unit_create(**data)
        return services.org_unit_update(unit=obj, data=data)

    def context(self, form, obj):
        ancestors = selectors.unit_ancestors(unit=obj) + [obj] if obj is not None else []
        return {"form": form, "object": obj, "ancestors": ancestors}

    def success_url(self, obj):
        return reverse("org:unit", args=[obj.pk])


# --- people ---------------------------------------------------------------------------------------


class UserListView(OrgView):
    section = "people"

    def get(self, request):
        form = UserFilterForm(request.GET or None)
        if form.is_bound:
            form.is_valid()  # invalid filters are shown as errors and ignored
        filters, sort = form.filters(), form.sort_order()
        cursor = request.GET.get("cursor") or None
        try:
            page = selectors.user_list(filters=filters, sort=sort, cursor=cursor)
        except ValidationError:
            messages.warning(request, _("That page link is no longer valid; showing the first page."))
            page = selectors.user_list(filters=filters, sort=sort)
        count, capped = bounded_count(selectors.user_queryset(filters=filters))
        params = request.GET.copy()
        params.pop("cursor", None)
        return self.render("org/user_list.html", {
            "form": form, "page": page, "count": count, "capped": capped, "query": params.urlencode(),
            "filtered": any(v not in (None, "") for v in filters.values()),
        })


class UserView(OrgView):
    section = "people"

    def get(self, request, pk: int):
        person = selectors.user_get(pk=pk)
        ancestors = selectors.unit_ancestors(unit=person.unit) + [person.unit] if person.unit_id else []
        return self.render("org/user.html", {
            "person": person, "reports": selectors.user_reports(user=person), "unit_path": ancestors,
        })


class UserEditView(ServiceEditView):
    section = "people"
    form_class = UserForm
    template_name = "org/user_form.html"

    def get_object(self, pk):
        return selectors.user_get(pk=pk) if pk is not None else None

    def make_form(self, obj, data=None):
        if data is None and obj is not None:
            return UserForm(initial=UserForm.initial_for(obj), instance=obj)
        if data is None and self.request.GET.get("unit", "").isdigit():
            return UserForm(initial={"unit": int(self.request.GET["unit"]), "is_active": True}, instance=obj)
        return UserForm(data, instance=obj)

    def save(self, form, obj):
        data = form.service_data()
        password = form.cleaned_data.get("password")
        if obj is None:
            return services.user_create(password=password, **data)
        user = services.user_update(user=obj, data=data)
        if password:
            services.user_set_password(user=user, password=password)
        return user

    def context(self, form, obj):
        return {"form": form, "object": obj, "person": obj}

    def success_url(self, obj):
        return reverse("org:user", args=[obj.pk])


# --- sharing rules --------------------------------------------------------------------------------


class SharingRuleListView(OrgView):
    section = "sharing"

    def get(self, request):
        return self.render("org/sharing_rule_list.html", {"rules": list(selectors.sharing_rule_list())})


class SharingRuleEditView(ServiceEditView):
    section = "sharing"
    form_class = SharingRuleForm
    template_name = "org/sharing_rule_form.html"

    def get_object(self, pk):
        return selectors.sharing_rule_get(pk=pk) if pk is not None else None

    def save(self, form, obj):
        if obj is None:
            return services.sharing_rule_create(**form.cleaned_data)
        return services.sharing_rule_update(rule=obj, data=form.cleaned_data)

    def success_url(self, obj):
        return reverse("org:sharing_rule_list")


class SharingRuleDeleteView(OrgView):
    section = "sharing"
    admin_only = True

    def get(self, request, pk: int):
        rule = selectors.sharing_rule_get(pk=pk)
        return self.render("org/confirm_delete.html", {"object": rule, "kind": _("sharing rule"),
                                                       "cancel_url": reverse("org:sharing_rule_list")})

    def post(self, request, pk: int):
        rule = get_object_or_404(SharingRule, pk=pk)
        services.sharing_rule_delete(rule=rule)
        messages.success(request, _("Deleted “%(obj)s”.") % {"obj": rule})
        return redirect("org:sharing_rule_list")


# --- custom-attribute definitions -----------------------------------------------------------------


class AttributeDefinitionListView(OrgView):
    section = "attributes"
    admin_only = True

    def get(self, request):
        definitions = list(AttributeDefinition.objects.order_by("entity", "order", "key"))
        groups = [(label, [d for d in definitions if d.entity == value]) for value, label in AttributeEntity.choices]
        return self.render("org/attribute_list.html", {"groups": groups, "count": len(definitions)})


class AttributeDefinitionEditView(ServiceEditView):
    section = "attributes"
    form_class = AttributeDefinitionForm
    template_name = "org/attribute_form.html"

    def get_object(self, pk):
        return get_object_or_404(AttributeDefinition, pk=pk) if pk is not None else None

    def save(self, form, obj):
        if obj is None:
            return attribute_services.attribute_definition_create(**form.service_data())
        return attribute_services.attribute_definition_update(definition=obj, data=form.service_data())

    def success_url(self, obj):
        return reverse("org:attribute_list")


class AttributeDefinitionDeleteView(OrgView):
    section = "attributes"
    admin_only = True

    def get(self, request, pk: int):
        definition = get_object_or_404(AttributeDefinition, pk=pk)
        return self.render("org/confirm_delete.html", {"object": definition, "kind": _("custom attribute"),
                                                       "cancel_url": reverse("org:attribute_list")})

    def post(self, request, pk: int):
        definition = get_object_or_404(AttributeDefinition, pk=pk)
        try:
            attribute_services.attribute_definition_delete(definition=definition)
        except ValidationError as exc:
            errors = [m for ms in exc.message_dict.values() for m in ms] if hasattr(exc, "error_dict") else exc.messages
            return self.render("org/confirm_delete.html", {"object": definition, "kind": _("custom attribute"),
                                                           "cancel_url": reverse("org:attribute_list"), "errors": errors})
        messages.success(request, _("Deleted “%(obj)s”.") % {"obj": definition})
        return redirect("org:attribute_list")


# --- CSV import -----------------------------------------------------------------------------------


class OrgImportView(OrgView):
    section = "import"
    admin_only = True

    def get(self, request):
        return self.render("org/import.html", {"form": OrgImportForm()})

    def post(self, request):
        form = OrgImportForm(request.POST, request.FILES)
        result = None
        if form.is_valid():
            result = org_import(units=form.cleaned_data.get("units"), users=form.cleaned_data.get("users"),
                                dry_run=form.cleaned_data["dry_run"], actor=request.user)
        return self.render("org/import.html", {"form": form, "result": result})


def org_import_template_download(request: HttpRequest) -> HttpResponse:
    """An empty CSV with the header row of ?kind=units|users, in the page's language."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not selectors.is_administrator(request.user):
        raise PermissionDenied
    kind = request.GET.get("kind", "")
    try:
        body = org_import_template(kind=kind, chinese=(get_language() or "").startswith("zh"))
    except ValueError:
        raise Http404 from None
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kamcrm-{kind}-template.csv"'
    return response

