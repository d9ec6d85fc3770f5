"""Writes to the organisation: units (keeping the materialised path), people and sharing rules."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from kamcrm.core.services import model_update
from kamcrm.org.models import OrgUnit, SharingRule, User

UNIT_FIELDS = ["name", "code", "kind", "parent", "head", "is_active", "source_system", "external_id"]
USER_FIELDS = ["username", "display_name", "first_name", "last_name", "email", "unit", "manager", "role", "phone",
               "is_active", "preferred_language", "source_system", "external_id"]


def _path_for(unit: OrgUnit) -> str:
    return f"{unit.parent.path if unit.parent_id else ''}{unit.pk:06d}."


@transaction.atomic
def org_unit_create(*, name: str, code: str, kind: str, parent: OrgUnit | None = None, head: User | None = None,
                    **extra: Any) -> OrgUnit:
    unit = OrgUnit(name=name, code=code, kind=kind, parent=parent, head=head, **extra)
    unit.full_clean(exclude=["path"])
    unit.save()
    unit.path = _path_for(unit)
    unit.depth = unit.path.count(".") - 1
    unit.save(update_fields=["path", "depth"])
    return unit


@transaction.atomic
def org_unit_update(*, unit: OrgUnit, data: dict[str, Any]) -> OrgUnit:
    new_parent = data.get("parent", unit.parent)
    if new_parent is not None and new_parent.pk != unit.parent_id:
        if new_parent.pk == unit.pk or new_parent.path.startswith(unit.path):
            raise ValidationError({"parent": _("A unit cannot be moved under itself or one of its sub-units.")})
    old_path = unit.path
    unit, changed = model_update(instance=unit, fields=UNIT_FIELDS, data=data)
    if changed and unit.path != _path_for(unit):
        new_path = _path_for(unit)
        # Re-root the whole subtree in one statement: new prefix + the part below the old prefix.
        OrgUnit.objects.filter(path__startswith=old_path).update(
            path=Concat(Value(new_path), Substr("path", len(old_path) + 1))
        )
        for u in OrgUnit.objects.filter(path__startswith=new_path):
            depth = u.path.count(".") - 1
            if u.depth != depth:
                OrgUnit.objects.filter(pk=u.pk).update(depth=depth)
        unit.refresh_from_db()
    return unit


@transaction.atomic
def user_create(*, username: str, password: str | None = None, **data: Any) -> User:
    user = User(username=username, **data)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    _check_manager_chain(user, user.manager)
    user.save()
    return user


@transaction.atomic
def user_update(*, user: User, data: dict[str, Any]) -> User:
    if "manager" in data:
        _check_manager_chain(user, data["manager"])
    user, _changed = model_update(instance=user, fields=USER_FIELDS, data=data)
    return user


def _check_manager_chain(user: User, manager: User | None) -> None:
    seen = set()
    current = manager
    while current is not None:
        if user.pk and current.pk == user.pk:
            raise ValidationError({"manager": _("This would make the person their own manager.")})
        if current.pk in seen:
            break
        seen.add(current.pk)
        current = current.manager


@transaction.atomic
def sharing_rule_create(**data: Any) -> SharingRule:
    rule = SharingRule(**data)
    rule.full_clean()
    rule.save()
    return rule
