"""Organisation units and people through the import framework (kamcrm/exchange/importing.py).

Administrators only. Units match by code, people by username (a source's external id works too);
parents and managers may be further down the file. Writes go through org.services one row at a
time (an organisation has hundreds of rows, not millions), so every rule the UI applies holds.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamcrm.core.services import validation_error_dict
from kamcrm.exchange.import_specs import (
    CHOICE,
    REF,
    FieldSpec,
    ImportContext,
    ImportEntity,
    ImportRow,
    Ref,
    RowProblem,
    register,
)
from kamcrm.exchange.models import ImportErrorKind
from kamcrm.org import services
from kamcrm.org.choices import Role, UnitKind
from kamcrm.org.importers import ROLE_WORDS, UNIT_KIND_WORDS
from kamcrm.org.models import OrgUnit, User

UNIT_REF = Ref(OrgUnit, ("code", "name", "external_id"))
USER_REF = Ref(User, ("username", "email", "external_id", "display_name"))


def _raise(row: ImportRow, exc: ValidationError, columns: dict[str, str]) -> None:
    name, messages = next(iter(validation_error_dict(exc).items()))
    raise RowProblem(row, columns.get(name, name), "; ".join(messages)) from None


def _changed(instance, data: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
    out = {}
    for key, value in data.items():
        current = getattr(instance, f"{key}_id" if key in ("parent", "head", "unit", "manager") else key)
        target = value.pk if hasattr(value, "pk") else value
        if current != target:
            out[key] = value
    return out


class OrgUnitImport(ImportEntity):
    name = "org_unit"
    label = gettext_lazy("organisation units")
    model = OrgUnit
    self_refs = ("parent",)
    file_keys = ("code", "name", "external_id")
    fields = (
        FieldSpec("code", gettext_lazy("code"), required=True, max_length=40),
        FieldSpec("name", gettext_lazy("name"), max_length=100, help=gettext_lazy("Needed for a new unit.")),
        FieldSpec("kind", gettext_lazy("kind"), CHOICE, choices=UnitKind, words=UNIT_KIND_WORDS,
                  help=gettext_lazy("Needed for a new unit.")),
        FieldSpec("parent", gettext_lazy("parent unit"), REF, ref=UNIT_REF,
                  help=gettext_lazy("The parent's code, name or external id; it may be further down the file.")),
        FieldSpec("head", gettext_lazy("head"), REF, ref=USER_REF),
        FieldSpec("external_id", gettext_lazy("external id"), max_length=100),
    )

    def duplicate_keys(self, row: ImportRow) -> list[tuple[str, Any]]:
        return [("code", row.values["code"])] if row.values.get("code") else []

    def match(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        found = {u.code: u for u in OrgUnit.objects.filter(code__in={r.values.get("code") for r in rows})}
        for row in rows:
            row.existing = found.get(row.values.get("code"))
            if row.existing is None:
                for name in ("name", "kind"):
                    if name not in row.values:
                        row.error(name, ImportErrorKind.MISSING, _("A new unit needs a value here."))

    def _data(self, row: ImportRow, ctx: ImportContext) -> dict[str, Any]:
        data = {k: v for k, v in row.values.items() if k not in ("parent", "head")}
        if "parent" in row.values:
            data["parent"] = OrgUnit.objects.get(pk=row.values["parent"])
        if "head" in row.values:
            data["head"] = User.objects.get(pk=row.values["head"])
        if "external_id" in data:
            data["source_system"] = ctx.source_system
        return data

    def write(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        for row in rows:
            data = self._data(row, ctx)
            try:
                if row.existing is None:
                    row.existing = services.org_unit_create(**data)
                    row.status = "created"
                    continue
                unit = OrgUnit.objects.get(pk=row.existing.pk)  # fresh: an earlier move may have changed its path
                changes = _changed(unit, data)
                if changes:
                    row.existing = services.org_unit_update(unit=unit, data=changes)
                row.status = "updated" if changes else "unchanged"
            except ValidationError as exc:
                _raise(row, exc, {})

    def set_deferred(self, record_id: int, field_name: str, target_id: int, ctx: ImportContext) -> None:
        unit = OrgUnit.objects.get(pk=record_id)
        services.org_unit_update(unit=unit, data={field_name: OrgUnit.objects.get(pk=target_id)})


class UserImport(ImportEntity):
    name = "user"
    label = gettext_lazy("people")
    model = User
    self_refs = ("manager",)
    file_keys = ("username", "email", "external_id", "display_name")
    fields = (
        FieldSpec("username", gettext_lazy("username"), required=True, max_length=150),
        FieldSpec("display_name", gettext_lazy("display name"), max_length=100),
        FieldSpec("email", gettext_lazy("email"), max_length=254),
        FieldSpec("unit", gettext_lazy("primary unit"), REF, ref=UNIT_REF,
                  help=gettext_lazy("Needed for a new person: a unit's code, name or external id.")),
        FieldSpec("manager", gettext_lazy("manager"), REF, ref=USER_REF,
                  help=gettext_lazy("The manager's username (or e-mail, name); they may be further down the file.")),
        FieldSpec("role", gettext_lazy("role"), CHOICE, choices=Role, words=ROLE_WORDS,
                  help=gettext_lazy("Account manager when left empty.")),
        FieldSpec("phone", gettext_lazy("phone"), max_length=30),
        FieldSpec("external_id", gettext_lazy("external id"), max_length=100),
    )

    def duplicate_keys(self, row: ImportRow) -> list[tuple[str, Any]]:
        return [("username", row.values["username"])] if row.values.get("username") else []

    def match(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        found = {u.username: u for u in User.objects.filter(username__in={r.values.get("username") for r in rows})}
        for row in rows:
            row.existing = found.get(row.values.get("username"))
            if row.existing is None and "unit" not in row.values:
                row.error("unit", ImportErrorKind.MISSING, _("A new person needs a value here."))
            if row.existing is not None and row.existing.is_superuser and ctx.user is not None \
                    and not ctx.user.is_superuser:
                row.error("username", ImportErrorKind.PERMISSION, _("Only a superuser may change a superuser."))

    def write(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        for row in rows:
            data = {k: v for k, v in row.values.items() if k not in ("unit", "manager")}
            if "unit" in row.values:
                data["unit"] = OrgUnit.objects.get(pk=row.values["unit"])
            if "manager" in row.values:
                data["manager"] = User.objects.get(pk=row.values["manager"])
            if "external_id" in data:
                data["source_system"] = ctx.source_system
            try:
                if row.existing is None:
                    data.setdefault("role", Role.ACCOUNT_MANAGER)
                    row.existing = services.user_create(**data)
                    row.status = "created"
                    continue
                user = User.objects.get(pk=row.existing.pk)
                changes = _changed(user, {k: v for k, v in data.items() if k != "username"})
                if changes:
                    row.existing = services.user_update(user=user, data=changes)
                row.status = "updated" if changes else "unchanged"
            except ValidationError as exc:
                _raise(row, exc, {})

    def set_deferred(self, record_id: int, field_name: str, target_id: int, ctx: ImportContext) -> None:
        user = User.objects.get(pk=record_id)
        services.user_update(user=user, data={field_name: User.objects.get(pk=target_id)})


register(OrgUnitImport())
register(UserImport())
