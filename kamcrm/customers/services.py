"""Every write to accounts, contacts, account teams and interactions."""
from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.audit.models import TimelineEvent
from kamcrm.core.attributes import clean_attributes
from kamcrm.core.services import model_update
from kamcrm.customers.models import Account, AccountTeamMember, Contact, Interaction
from kamcrm.org.models import User
from kamcrm.org.selectors import EDIT, get_visible_or_404

ACCOUNT_FIELDS = ["name", "short_name", "credit_code", "industry", "tier", "status", "region", "parent", "owner",
                  "tags", "address", "website", "phone", "description", "attributes", "source_system", "external_id"]
CONTACT_FIELDS = ["account", "name", "title", "department", "mobile", "phone", "email", "decision_role",
                  "relationship_strength", "birthday", "preferred_channel", "is_primary", "notes", "attributes",
                  "source_system", "external_id"]
TEAM_FIELDS = ["team_role", "access", "valid_from", "valid_to", "reason"]


def _normalise_account(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    if "credit_code" in data and data["credit_code"]:
        data["credit_code"] = data["credit_code"].strip().upper()
    if "tags" in data:
        tags = data["tags"] or []
        if isinstance(tags, str):
            tags = [t for t in tags.replace("，", ",").split(",")]
        data["tags"] = sorted({t.strip() for t in tags if t and t.strip()})
    for key in ("name", "short_name"):
        if key in data and isinstance(data[key], str):
            data[key] = data[key].strip()
    return data


def _check_parent(account: Account, parent: Account | None) -> None:
    """A group hierarchy is a tree: no account may become its own ancestor."""
    seen: set[int] = set()
    current = parent
    while current is not None:
        if account.pk and current.pk == account.pk:
            raise ValidationError({"parent": _("An account cannot be a subsidiary of itself or of its own subsidiary.")})
        if current.pk in seen:
            break
        seen.add(current.pk)
        current = current.parent


def _check_owner(owner: User | None) -> None:
    if owner is not None and not owner.unit_id:
        raise ValidationError({"owner": _("The account manager has no primary unit; assign one first.")})


@transaction.atomic
def account_create(*, by: User | None = None, **data: Any) -> Account:
    data = _normalise_account(data)
    data["attributes"] = clean_attributes("account", data.get("attributes"))
    account = Account(**data)
    _check_owner(account.owner if account.owner_id else None)
    if account.owner_id:
        account.owner_unit_id = account.owner.unit_id
    account.full_clean(exclude=["owner_unit"] if not account.owner_id else None)
    account.save()
    return account


@transaction.atomic
def account_update(*, account: Account, data: dict[str, Any], by: User | None = None) -> Account:
    data = _normalise_account(data)
    if "attributes" in data:
        data["attributes"] = clean_attributes("account", data["attributes"])
    if "parent" in data:
        _check_parent(account, data["parent"])
    if data.get("owner") is not None and data["owner"].pk != account.owner_id:
        _check_owner(data["owner"])
        data["owner_unit"] = data["owner"].unit
    account, _changed = model_update(instance=account, fields=[*ACCOUNT_FIELDS, "owner_unit"], data=data)
    return account


def account_update_for(*, user: User, account_id: int, data: dict[str, Any]) -> Account:
    """Lock the account if `user` may edit it, then update: the restrict-then-write path of the UI and API."""
    with transaction.atomic():
        account = get_visible_or_404(Account.objects.select_for_update(), user, EDIT, pk=account_id)
        return account_update(account=account, data=data, by=user)


@transaction.atomic
def account_upsert(*, source_system: str, external_id: str, data: dict[str, Any], by: User | None = None) -> tuple[Account, bool]:
    """Create or update by (source system, external id); returns (account, created)."""
    existing = Account.objects.select_for_update().filter(source_system=source_system, external_id=external_id).first()
    if existing:
        return account_update(account=existing, data=data, by=by), False
    return account_create(by=by, source_system=source_system, external_id=external_id, **data), True


@transaction.atomic
def contact_create(*, by: User | None = None, **data: Any) -> Contact:
    data["attributes"] = clean_attributes("contact", data.get("attributes"))
    contact = Contact(**data)
    contact.full_clean()
    contact.save()
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, data: dict[str, Any], by: User | None = None) -> Contact:
    if "attributes" in data:
        data = {**data, "attributes": clean_attributes("contact", data["attributes"])}
    contact, _changed = model_update(instance=contact, fields=CONTACT_FIELDS, data=data)
    return contact


@transaction.atomic
def contact_upsert(*, source_system: str, external_id: str, data: dict[str, Any], by: User | None = None) -> tuple[Contact, bool]:
    existing = Contact.objects.select_for_update().filter(source_system=source_system, external_id=external_id).first()
    if existing:
        return contact_update(contact=existing, data=data, by=by), False
    return contact_create(by=by, source_system=source_system, external_id=external_id, **data), True


@transaction.atomic
def contact_delete(*, contact: Contact, by: User | None = None) -> None:
    contact.delete()


@transaction.atomic
def team_member_add(*, account: Account, user: User, by: User | None = None, **data: Any) -> AccountTeamMember:
    if AccountTeamMember.objects.filter(account=account, user=user).exists():
        raise ValidationError({"user": _("%(user)s is already on this account's team.") % {"user": user}})
    member = AccountTeamMember(account=account, user=user, **data)
    member.full_clean()
    member.save()
    return member


@transaction.atomic
def team_member_update(*, member: AccountTeamMember, data: dict[str, Any], by: User | None = None) -> AccountTeamMember:
    member, _changed = model_update(instance=member, fields=TEAM_FIELDS, data=data)
    return member


@transaction.atomic
def team_member_remove(*, member: AccountTeamMember, by: User | None = None) -> None:
    member.delete()


@transaction.atomic
def interaction_log(*, account: Account, kind: str, subject: str, body: str = "", occurred_at=None,
                    contact: Contact | None = None, by: User | None = None) -> Interaction:
    """Log a note, call, visit, email or meeting; it appears on the account's timeline at once."""
    if contact is not None and contact.account_id != account.pk:
        raise ValidationError({"contact": _("This contact belongs to another account.")})
    interaction = Interaction(account=account, kind=kind, subject=subject, body=body, contact=contact,
                              occurred_at=occurred_at or timezone.now(), author=by)
    interaction.full_clean()
    interaction.save()
    TimelineEvent.objects.create(
        account=account, occurred_at=interaction.occurred_at, kind=kind, summary=subject[:300], body=body,
        actor=by, content_type=ContentType.objects.get_for_model(Interaction), object_id=interaction.pk,
        data={"contact": contact.name if contact else ""},
    )
    return interaction
