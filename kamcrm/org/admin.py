"""Django admin for the organisation: a backstop for superusers; the product UI is the normal way in.

Writes still go through org.services where a service keeps an invariant (the unit tree's materialised
path, the manager chain), so the admin cannot leave the tree or the chain broken.
"""
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kamcrm.org import services
from kamcrm.org.models import OrgUnit, SharingRule, User


class OrgUnitAdminForm(forms.ModelForm):
    class Meta:
        model = OrgUnit
        fields = ["name", "code", "kind", "parent", "head", "is_active", "source_system", "external_id"]

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        unit = self.instance
        if parent is not None and unit.pk and (parent.pk == unit.pk or parent.path.startswith(unit.path)):
            raise ValidationError(_("A unit cannot be moved under itself or one of its sub-units."))
        return parent


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    form = OrgUnitAdminForm
    list_display = ["name", "code", "kind", "parent", "head", "depth", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "code"]
    ordering = ["path"]
    readonly_fields = ["path", "depth"]
    autocomplete_fields = ["parent", "head"]
    list_select_related = ["parent", "head"]

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.Meta.fields if name in form.cleaned_data}
        if change:
            unit = OrgUnit.objects.get(pk=obj.pk)
            saved = services.org_unit_update(unit=unit, data={k: v for k, v in data.items() if k in form.changed_data})
        else:
            saved = services.org_unit_create(**data)
        obj.pk, obj.path, obj.depth = saved.pk, saved.path, saved.depth
        obj._state.adding = False


class KamUserChangeForm(DjangoUserAdmin.form):
    def clean_manager(self):
        manager = self.cleaned_data.get("manager")
        services.user_check_manager(user=self.instance, manager=manager)
        return manager


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = KamUserChangeForm
    list_display = ["username", "display_name", "unit", "manager", "role", "is_active", "is_staff"]
    list_filter = ["role", "is_active", "is_staff", "is_superuser"]
    search_fields = ["username", "display_name", "email", "phone"]
    list_select_related = ["unit", "manager"]
    autocomplete_fields = ["unit", "manager"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Person"), {"fields": ["display_name", "first_name", "last_name", "email", "phone", "preferred_language"]}),
        (_("Organisation"), {"fields": ["unit", "manager", "role"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("External id"), {"fields": ["source_system", "external_id"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "usable_password", "password1", "password2"]}),
        (_("Organisation"), {"fields": ["display_name", "unit", "manager", "role"]}),
    ]


class SharingRuleAdminForm(forms.ModelForm):
    class Meta:
        model = SharingRule
        fields = ["name", "source_unit", "target_unit", "include_target_subtree", "access", "is_active"]

    def clean(self):
        cleaned = super().clean()
        source, target = cleaned.get("source_unit"), cleaned.get("target_unit")
        if source is not None and source == target:
            self.add_error("target_unit", _("A unit already sees its own accounts; choose another unit."))
        return cleaned


@admin.register(SharingRule)
class SharingRuleAdmin(admin.ModelAdmin):
    form = SharingRuleAdminForm
    list_display = ["name", "source_unit", "target_unit", "include_target_subtree", "access", "is_active"]
    list_filter = ["access", "is_active"]
    search_fields = ["name"]
    autocomplete_fields = ["source_unit", "target_unit"]
    list_select_related = ["source_unit", "target_unit"]
