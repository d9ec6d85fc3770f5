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
from kamcrm.org.selectors import EDIT, get_visible_or_404, reach
from kamcrm.webhooks import services as webhooks

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
    """A group hierarchy is a tree: no account may become its own ancestor.

    The chain is read from the database (one query per level), not from cached instances, which may be stale.
    """
    seen: set[int] = set()
    current_id = parent.pk if parent is not None else None
    while current_id is not None:
        if account.pk and current_id == account.pk:
            raise ValidationError({"parent": _("An account cannot be a subsidiary of itself or of its own subsidiary.")})
        if current_id in seen:
            break
        seen.add(current_id)
        current_id = Account.objects.filter(pk=current_id).values_list("parent_id", flat=True).first()


def _check_unique(model, instance, data: dict[str, Any]) -> None:
    """Name the field when a unique constraint would refuse the row (full_clean() reports it as "__all__").

    `data` holds the values about to be written; `instance` is the row (unsaved on create).
    """
    def value(name):
        return data[name] if name in data else getattr(instance, name)

    others = model.objects.exclude(pk=instance.pk) if instance.pk else model.objects.all()
    errors = {}
    if "credit_code" in data and value("credit_code") and others.filter(credit_code=value("credit_code")).exists():
        errors["credit_code"] = [_("Another account already has this unified social credit code.")]
    if ("external_id" in data or "source_system" in data) and value("external_id") and others.filter(
            source_system=value("source_system") or "", external_id=value("external_id")).exists():
        errors["external_id"] = [_("Another record of this source system already has this external id.")]
    if errors:
        raise ValidationError(errors)


def _field_value(model, name: str, value: Any) -> Any:
    """`value` as the field holds it, or None when it is not valid (full_clean() then names the field)."""
    try:
        return model._meta.get_field(name).to_python(value)
    except ValidationError:
        return None


def _check_strength(data: dict[str, Any]) -> None:
    strength = _field_value(Contact, "relationship_strength", data.get("relationship_strength"))
    if strength is not None and not 1 <= strength <= 5:
        raise ValidationError({"relationship_strength": _("Relationship strength is from 1 (cold) to 5 (trusted).")})


def _check_validity(member: AccountTeamMember, data: dict[str, Any]) -> None:
    valid_from = _field_value(AccountTeamMember, "valid_from", data.get("valid_from", member.valid_from))
    valid_to = _field_value(AccountTeamMember, "valid_to", data.get("valid_to", member.valid_to))
    if valid_from and valid_to and valid_to < valid_from:
        raise ValidationError({"valid_to": _("The end of the membership cannot be before its start.")})


def owner_assignable(*, by: User, owner: User) -> bool:
    """May `by` make `owner` an account's owner? Themself, anyone below them in the manager chain, or
    anyone in a unit whose accounts they may edit; administrators anyone. Team and sharing grants do not count."""
    if owner.pk == by.pk:
        return True
    r = reach(by, EDIT)
    if r.everything or owner.pk in r.owner_ids:
        return True
    unit_path = owner.unit.path if owner.unit_id else ""
    return bool(unit_path) and any(unit_path.startswith(p) for p in r.unit_paths)


def _check_owner(owner: User | None, by: User | None = None) -> None:
    if owner is None:
        return
    if not owner.unit_id:
        raise ValidationError({"owner": _("The account manager has no primary unit; assign one first.")})
    # Writes by a person (UI, API) are bounded by their reach; imports and jobs pass by=None.
    if by is not None and not owner_assignable(by=by, owner=owner):
        raise ValidationError({"owner": _("The account manager must be you or someone whose accounts you may "
                                          "edit (a person below you, or in the units you manage).")})


@transaction.atomic
def account_create(*, by: User | None = None, **data: Any) -> Account:
    data = _normalise_account(data)
    data["attributes"] = clean_attributes("account", data.get("attributes"))
    account = Account(**data)
    _check_owner(account.owner if account.owner_id else None, by)
    _check_unique(Account, account, data)
    if account.owner_id:
        account.owner_unit_id = account.owner.unit_id
    account.full_clean(exclude=["owner_unit"] if not account.owner_id else None)
    account.save()
    webhooks.account_event(account, type="account.created")
    return account


@transaction.atomic
def account_update(*, account: Account, data: dict[str, Any], by: User | None = None) -> Account:
    data = _normalise_account(data)
    if "attributes" in data:
        # Only the attributes sent change; one sent empty is cleared.
        data["attributes"] = clean_attributes("account", data["attributes"], partial_base=account.attributes)
    if "parent" in data:
        _check_parent(account, data["parent"])
    _check_unique(Account, account, data)
    if data.get("owner") is not None and data["owner"].pk != account.owner_id:
        _check_owner(data["owner"], by)
        data["owner_unit"] = data["owner"].unit
    before = webhooks.record_snapshot(account, webhooks.ACCOUNT_PAYLOAD_FIELDS)
    funnel = _funnel_before([account], data)
    account, changed = model_update(instance=account, fields=[*ACCOUNT_FIELDS, "owner_unit"], data=data)
    if funnel is not None:
        _funnel_after(*funnel)
    if changed:
        webhooks.account_event(account, type="account.changed", before=before)
    return account


# The funnel's roll-up (sales.rollup) is keyed by the account's owner, owning unit and region, which
# decide who sees its opportunities. Imported late: sales builds on customers, not the other way.
FUNNEL_KEYS = ("owner", "owner_unit", "region")


def _funnel_before(accounts: list[Account], data: dict[str, Any] | None = None):  # noqa: ANN202
    """When these accounts' owner, unit or region is about to change (`data`, or already set on the
    instances but not saved): their opportunities' roll-up contributions now, to refresh after."""
    from kamcrm.sales import rollup
    from kamcrm.sales.models import Opportunity

    if data is not None and not any(
            name in data and getattr(data[name], "pk", data[name]) != getattr(accounts[0], f"{name}_id")
            for name in FUNNEL_KEYS):
        return None
    ids = list(Opportunity.objects.filter(account__in=[a.pk for a in accounts]).values_list("pk", flat=True))
    return (rollup.contributions(ids), ids) if ids else None


def _funnel_after(before, ids: list[int]) -> None:  # noqa: ANN001
    from kamcrm.sales import rollup

    rollup.refresh(before, ids)


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
    return account_create(by=by, **{**data, "source_system": source_system, "external_id": external_id}), True


@transaction.atomic
def contact_create(*, by: User | None = None, **data: Any) -> Contact:
    data["attributes"] = clean_attributes("contact", data.get("attributes"))
    _check_strength(data)
    contact = Contact(**data)
    _check_unique(Contact, contact, data)
    contact.full_clean()
    contact.save()
    webhooks.contact_event(contact, type="contact.created")
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, data: dict[str, Any], by: User | None = None) -> Contact:
    if "attributes" in data:
        data = {**data, "attributes": clean_attributes("contact", data["attributes"], partial_base=contact.attributes)}
    _check_strength(data)
    _check_unique(Contact, contact, data)
    before = webhooks.record_snapshot(contact, webhooks.CONTACT_PAYLOAD_FIELDS)
    contact, changed = model_update(instance=contact, fields=CONTACT_FIELDS, data=data)
    if changed:
        webhooks.contact_event(contact, type="contact.changed", before=before)
    return contact


@transaction.atomic
def contact_upsert(*, source_system: str, external_id: str, data: dict[str, Any], by: User | None = None) -> tuple[Contact, bool]:
    existing = Contact.objects.select_for_update().filter(source_system=source_system, external_id=external_id).first()
    if existing:
        return contact_update(contact=existing, data=data, by=by), False
    return contact_create(by=by, **{**data, "source_system": source_system, "external_id": external_id}), True


@transaction.atomic
def contact_delete(*, contact: Contact, by: User | None = None) -> None:
    contact.delete()


@transaction.atomic
def team_member_add(*, account: Account, user: User, by: User | None = None, **data: Any) -> AccountTeamMember:
    if AccountTeamMember.objects.filter(account=account, user=user).exists():
        raise ValidationError({"user": _("%(user)s is already on this account's team.") % {"user": user}})
    member = AccountTeamMember(account=account, user=user, **data)
    _check_validity(member, {})
    member.full_clean()
    member.save()
    return member


@transaction.atomic
def team_member_update(*, member: AccountTeamMember, data: dict[str, Any], by: User | None = None) -> AccountTeamMember:
    _check_validity(member, data)
    member, _changed = model_update(instance=member, fields=TEAM_FIELDS, data=data)
    return member


@transaction.atomic
def team_member_remove(*, member: AccountTeamMember, by: User | None = None) -> None:
    member.delete()


@transaction.atomic
def interaction_log(*, account: Account, kind: str, subject: str, body: str = "", occurred_at=None,
                    contact: Contact | None = None, by: User | None = None, opportunity=None,  # noqa: ANN001
                    follow_up_on=None) -> Interaction:  # noqa: ANN001
    """Log a note, call, visit, email or meeting; it appears on the account's timeline at once (and on
    the opportunity it was about). A follow-up date gives the author a task for that day, which is
    flagged once overdue."""
    if contact is not None and contact.account_id != account.pk:
        raise ValidationError({"contact": _("This contact belongs to another account.")})
    if opportunity is not None and opportunity.account_id != account.pk:
        raise ValidationError({"opportunity": _("This opportunity belongs to another account.")})
    interaction = Interaction(account=account, kind=kind, subject=subject, body=body, contact=contact,
                              occurred_at=occurred_at or timezone.now(), author=by, opportunity=opportunity,
                              follow_up_on=follow_up_on)
    interaction.full_clean()
    interaction.save()
    if follow_up_on is not None and by is not None:
        from kamcrm.activities.services import task_create  # activities builds on customers, not the reverse

        task_create(title=_("Follow up: %(s)s") % {"s": subject[:180]}, assignee=by, by=by, due_on=follow_up_on,
                    account=account, opportunity=opportunity)
    TimelineEvent.objects.create(
        account=account, occurred_at=interaction.occurred_at, kind=kind, summary=subject[:300], body=body,
        actor=by, content_type=ContentType.objects.get_for_model(Interaction), object_id=interaction.pk,
        data={"contact": contact.name if contact else ""},
    )
    return interaction
