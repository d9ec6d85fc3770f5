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


def _db_path(pk: int | None) -> str:
    """A unit's path as stored: instances passed around may be stale after an earlier move."""
    if pk is None:
        return ""
    return OrgUnit.objects.filter(pk=pk).values_list("path", flat=True).first() or ""


def _path_for(unit: OrgUnit) -> str:
    return f"{_db_path(unit.parent_id)}{unit.pk:06d}."


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
    old_path = _db_path(unit.pk)
    new_parent = data.get("parent", unit.parent)
    if new_parent is not None:
        if new_parent.pk == unit.pk or _db_path(new_parent.pk).startswith(old_path):
            raise ValidationError({"parent": _("A unit cannot be moved under itself or one of its sub-units.")})
    unit, changed = model_update(instance=unit, fields=UNIT_FIELDS, data=data)
    if changed and old_path != _path_for(unit):
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
    """Walk the chain above `manager` in the database (cached instances may be stale), one query per level."""
    seen = set()
    current_id = manager.pk if manager is not None else None
    while current_id is not None:
        if user.pk and current_id == user.pk:
            raise ValidationError({"manager": _("This would make the person their own manager.")})
        if current_id in seen:
            break
        seen.add(current_id)
        current_id = User.objects.filter(pk=current_id).values_list("manager_id", flat=True).first()


@transaction.atomic
def sharing_rule_create(**data: Any) -> SharingRule:
    rule = SharingRule(**data)
    rule.full_clean()
    _check_sharing_rule(rule)
    rule.save()
    return rule


def user_check_manager(*, user: User, manager: User | None) -> None:
    """Refuse a manager that would close a loop in the manager chain (for forms outside these services)."""
    _check_manager_chain(user, manager)


@transaction.atomic
def user_set_password(*, user: User, password: str) -> User:
    """Set a new password after Django's password validators accept it (errors keyed `password`)."""
    from django.contrib.auth import password_validation

    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


SHARING_RULE_FIELDS = ["name", "source_unit", "target_unit", "include_target_subtree", "access", "is_active"]


def _check_sharing_rule(rule: SharingRule) -> None:
    if rule.source_unit_id and rule.source_unit_id == rule.target_unit_id:
        raise ValidationError({"target_unit": _("A unit already sees its own accounts; choose another unit.")})


@transaction.atomic
def sharing_rule_update(*, rule: SharingRule, data: dict[str, Any]) -> SharingRule:
    probe = SharingRule(source_unit=data.get("source_unit", rule.source_unit),
                        target_unit=data.get("target_unit", rule.target_unit))
    _check_sharing_rule(probe)
    rule, _changed = model_update(instance=rule, fields=SHARING_RULE_FIELDS, data=data)
    return rule


@transaction.atomic
def sharing_rule_delete(*, rule: SharingRule) -> None:
    rule.delete()
