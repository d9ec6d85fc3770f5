"""Every write to opportunities, their lines and their stage history.

Rules kept here (and only here):
- an opportunity's owner_unit is its owner's unit; its amount is the sum of its lines when it has any;
- every stage entry is recorded (OpportunityStageChange) with who, when and the amount, probability,
  owner and expected close date at that moment; the previous entry gets its time in stage;
- moving forward out of a stage checks that stage's exit criteria; entering a stage checks its
  required fields (e.g. a reason for lost or abandoned); both name what is missing;
- a stage change lands on the account's timeline and in the webhook outbox (opportunity.stage_changed);
- collaborators are users of any unit, partners included; only active ones may be added, and every
  change to them is audited with the ids before and after (the audit receiver sees saves only).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.audit.models import TimelineEvent
from kamcrm.audit.registry import record_bulk
from kamcrm.core.attributes import clean_attributes
from kamcrm.core.context import current
from kamcrm.core.services import model_update
from kamcrm.customers.models import Account, Contact
from kamcrm.customers.services import owner_assignable
from kamcrm.org.models import User
from kamcrm.org.selectors import EDIT, get_visible_or_404
from kamcrm.products.models import Product
from kamcrm.sales import rollup
from kamcrm.sales.choices import ExitCriterion, StageKind
from kamcrm.sales.models import Opportunity, OpportunityLine, OpportunityStageChange, Stage
from kamcrm.webhooks import services as webhooks

OPPORTUNITY_FIELDS = ["account", "name", "owner", "probability", "amount", "currency", "expected_close_date",
                      "source", "competitor", "lost_reason", "description", "attributes", "source_system",
                      "external_id"]
PAYLOAD_FIELDS = ["account", "name", "owner", "stage", "probability", "amount", "currency", "expected_close_date",
                  "closed_on", "source_system", "external_id"]
TIMELINE_KIND = "stage_change"
CENT = Decimal("0.01")


def stage_path() -> list[Stage]:
    """The active stages in order, once per request or job."""
    memo = current().memo
    if "sales.stage_path" not in memo:
        memo["sales.stage_path"] = list(Stage.objects.filter(is_active=True).order_by("order", "id"))
    return memo["sales.stage_path"]


def first_stage() -> Stage:
    stages = [s for s in stage_path() if s.kind == StageKind.OPEN]
    if not stages:
        raise ValidationError({"stage": _("No open stage is configured; an administrator must add one.")})
    return stages[0]


def _check_owner(owner: User | None, by: User | None) -> None:
    if owner is None:
        return
    if not owner.unit_id:
        raise ValidationError({"owner": _("The owner has no primary unit; assign one first.")})
    if by is not None and not owner_assignable(by=by, owner=owner):
        raise ValidationError({"owner": _("The owner must be you or someone whose accounts you may edit.")})


def _check_contacts(account: Account, contacts: list[Contact]) -> None:
    if any(c.account_id != account.pk for c in contacts):
        raise ValidationError({"contacts": _("The contacts involved must be contacts of the opportunity's account.")})


def _check_collaborators(added: list[User]) -> None:
    """Collaborators come from any unit, partners included; only active users may be added (one who
    has left since being added stays until removed, so that editing other fields still works)."""
    inactive = [user for user in added if not user.is_active]
    if inactive:
        raise ValidationError({"collaborators": _("Only active users can be added as collaborators; no longer "
                                                  "active: %(names)s.")
                               % {"names": ", ".join(str(user) for user in inactive)}})


def _set_collaborators(opportunity: Opportunity, collaborators: list[User], *, before: list[int]) -> None:
    """Replace the collaborators and audit the change (ObjectChange and timeline, ids before → after):
    the audit receiver sees saves, not many-to-many changes."""
    wanted = {user.pk: user for user in collaborators}
    after = sorted(wanted)
    if after == before:
        return
    opportunity.collaborators.set(list(wanted.values()))
    record_bulk([opportunity], action="update", changes_for=lambda _o: {"collaborators": [before, after]})


def _line_rows(lines: list[dict[str, Any]]) -> list[OpportunityLine]:
    rows = []
    for index, line in enumerate(lines, start=1):
        product = line.get("product")
        if not isinstance(product, Product):
            raise ValidationError({"lines": _("Line %(n)d: choose a product.") % {"n": index}})
        quantity = Decimal(str(line.get("quantity", 1)))
        price = line.get("unit_price")
        price = product.list_price if price in (None, "") else Decimal(str(price))
        if quantity <= 0:
            raise ValidationError({"lines": _("Line %(n)d: the quantity must be above zero.") % {"n": index}})
        if price < 0:
            raise ValidationError({"lines": _("Line %(n)d: the unit price cannot be negative.") % {"n": index}})
        rows.append(OpportunityLine(product=product, quantity=quantity, unit_price=price,
                                    amount=(quantity * price).quantize(CENT)))
    return rows


def _check_required(opportunity: Opportunity, stage: Stage) -> None:
    errors = {}
    for name in stage.required_fields or []:
        value = getattr(opportunity, name, None)
        if value in (None, "", [], {}):
            field = Opportunity._meta.get_field(name)
            errors[name] = [_("“%(stage)s” needs %(field)s.") % {"stage": stage.label, "field": field.verbose_name}]
    if errors:
        raise ValidationError(errors)


def _check_exit(opportunity: Opportunity, stage: Stage) -> None:
    """The exit criteria of `stage`, which the opportunity is about to leave forwards."""
    missing = []
    for code in stage.exit_criteria or []:
        if code == ExitCriterion.HAS_CONTACT and not opportunity.contacts.exists():
            missing.append(ExitCriterion.HAS_CONTACT.label)
        elif code == ExitCriterion.HAS_LINES and not opportunity.lines.exists():
            missing.append(ExitCriterion.HAS_LINES.label)
        elif code == ExitCriterion.AMOUNT_POSITIVE and not opportunity.amount > 0:
            missing.append(ExitCriterion.AMOUNT_POSITIVE.label)
        elif code == ExitCriterion.HAS_CLOSE_DATE and not opportunity.expected_close_date:
            missing.append(ExitCriterion.HAS_CLOSE_DATE.label)
        elif code == ExitCriterion.HAS_COMPETITOR and not opportunity.competitor:
            missing.append(ExitCriterion.HAS_COMPETITOR.label)
    if missing:
        raise ValidationError({"stage": _("Before leaving “%(stage)s” the opportunity needs %(what)s.")
                               % {"stage": stage.label, "what": _("; ").join(str(m) for m in missing)}})


def _record_entry(opportunity: Opportunity, *, from_stage: Stage | None, at: dt.datetime, by: User | None) -> None:
    previous = (OpportunityStageChange.objects.filter(opportunity=opportunity, left_at__isnull=True)
                .order_by("-changed_at", "-id").first())
    if previous is not None:
        previous.left_at = at
        previous.seconds_in_stage = max(0, int((at - previous.changed_at).total_seconds()))
        previous.save(update_fields=["left_at", "seconds_in_stage"])
    OpportunityStageChange.objects.create(
        opportunity=opportunity, from_stage=from_stage, to_stage=opportunity.stage, changed_at=at, changed_by=by,
        amount=opportunity.amount, probability=opportunity.probability, owner_id=opportunity.owner_id,
        owner_unit_id=opportunity.owner_unit_id, expected_close_date=opportunity.expected_close_date,
    )


def _timeline(opportunity: Opportunity, *, from_stage: Stage | None, at: dt.datetime, by: User | None) -> None:
    if from_stage is None:
        summary = _("Opportunity “%(name)s” created in “%(stage)s”")
    else:
        summary = _("Opportunity “%(name)s”: %(from)s → %(stage)s")
    TimelineEvent.objects.create(
        account_id=opportunity.account_id, occurred_at=at, kind=TIMELINE_KIND,
        summary=summary % {"name": opportunity.name, "from": from_stage.label if from_stage else "",
                           "stage": opportunity.stage.label},
        actor=by, content_type=ContentType.objects.get_for_model(Opportunity), object_id=opportunity.pk,
        data={"from": from_stage.code if from_stage else None, "to": opportunity.stage.code,
              "amount": str(opportunity.amount), "probability": opportunity.probability},
    )


@transaction.atomic
def opportunity_create(*, by: User | None = None, account: Account, name: str, owner: User,
                       stage: Stage | None = None, lines: list[dict[str, Any]] | None = None,
                       contacts: list[Contact] | None = None, collaborators: list[User] | None = None,
                       entered_at: dt.datetime | None = None, **data: Any) -> Opportunity:
    """Create an opportunity in `stage` (the first open stage by default), with its first history entry.
    `entered_at` back-dates that entry (imports of a source's history); it defaults to now."""
    stage = stage or first_stage()
    _check_owner(owner, by)
    at = entered_at or timezone.now()
    data["attributes"] = clean_attributes("opportunity", data.get("attributes"))
    if data.get("probability") in (None, ""):
        data["probability"] = stage.default_probability
    opportunity = Opportunity(account=account, name=(name or "").strip(), owner=owner, stage=stage,
                              stage_entered_at=at, **data)
    opportunity.owner_unit_id = owner.unit_id if owner is not None else None
    if stage.is_closed:
        opportunity.closed_on = opportunity.closed_on or timezone.localdate(at)
    line_rows = _line_rows(lines or [])
    if line_rows:
        opportunity.amount = sum((row.amount for row in line_rows), Decimal("0"))
    _check_contacts(account, contacts or [])
    _check_collaborators(list(collaborators or []))
    _check_required(opportunity, stage)
    opportunity.full_clean(exclude=["owner_unit"] if opportunity.owner_unit_id is None else None)
    opportunity.save()
    for row in line_rows:
        row.opportunity = opportunity
    OpportunityLine.objects.bulk_create(line_rows)
    record_bulk(line_rows, action="create")
    if contacts:
        opportunity.contacts.set(contacts)
    if collaborators:
        _set_collaborators(opportunity, list(collaborators), before=[])
    _record_entry(opportunity, from_stage=None, at=at, by=by)
    _timeline(opportunity, from_stage=None, at=at, by=by)
    rollup.added([opportunity.pk])
    return opportunity


def opportunity_create_for(*, user: User, account_id: int, **data: Any) -> Opportunity:
    """The UI and API path: the account must be one `user` may edit."""
    with transaction.atomic():
        account = get_visible_or_404(Account.objects.select_for_update(), user, EDIT, pk=account_id)
        return opportunity_create(by=user, account=account, **data)


@transaction.atomic
def opportunity_update(*, opportunity: Opportunity, data: dict[str, Any], by: User | None = None) -> Opportunity:
    """Change fields other than the stage (opportunity_move does that). Lines, contacts and
    collaborators are replaced when given."""
    data = dict(data)
    funnel_before = rollup.contributions([opportunity.pk])
    lines = data.pop("lines", None)
    contacts = data.pop("contacts", None)
    collaborators = data.pop("collaborators", None)
    if "stage" in data:
        raise ValidationError({"stage": _("Move the opportunity to another stage with its stage buttons.")})
    if "attributes" in data:
        data["attributes"] = clean_attributes("opportunity", data["attributes"], partial_base=opportunity.attributes)
    owner = data.get("owner")
    if owner is not None and owner.pk != opportunity.owner_id:
        _check_owner(owner, by)
        data["owner_unit"] = owner.unit
    if "account" in data and data["account"].pk != opportunity.account_id:
        raise ValidationError({"account": _("An opportunity stays with its account; create a new one instead.")})
    if collaborators is not None:
        collaborators = list(collaborators)
        current = sorted(opportunity.collaborators.values_list("pk", flat=True))
        _check_collaborators([user for user in collaborators if user.pk not in current])
    if lines is not None:
        rows = _line_rows(lines)
        for old in OpportunityLine.objects.filter(opportunity=opportunity):
            old.delete()  # one by one, so that each removal is audited
        for row in rows:
            row.opportunity = opportunity
        OpportunityLine.objects.bulk_create(rows)
        record_bulk(rows, action="create")
        if rows:
            data["amount"] = sum((row.amount for row in rows), Decimal("0"))
    elif "amount" in data and opportunity.lines.exists():
        total = sum((line.amount for line in opportunity.lines.all()), Decimal("0"))
        if Decimal(str(data["amount"])) != total:
            raise ValidationError({"amount": _("The amount is the sum of the product lines; change the lines.")})
    opportunity, _changed = model_update(instance=opportunity, fields=[*OPPORTUNITY_FIELDS, "owner_unit"], data=data)
    if contacts is not None:
        _check_contacts(opportunity.account, contacts)
        opportunity.contacts.set(contacts)
    if collaborators is not None:
        _set_collaborators(opportunity, collaborators, before=current)
    _check_required(opportunity, opportunity.stage)
    rollup.refresh(funnel_before, [opportunity.pk])
    return opportunity


def opportunity_update_for(*, user: User, opportunity_id: int, data: dict[str, Any]) -> Opportunity:
    with transaction.atomic():
        opportunity = get_visible_or_404(Opportunity.objects.select_for_update(), user, EDIT, pk=opportunity_id)
        return opportunity_update(opportunity=opportunity, data=data, by=user)


@transaction.atomic
def opportunity_move(*, opportunity: Opportunity, stage: Stage, by: User | None = None,
                     lost_reason: str | None = None, probability: int | None = None,
                     at: dt.datetime | None = None, check: bool = True) -> Opportunity:
    """Move to `stage`. Forward moves out of an open stage check its exit criteria; the target's
    required fields must be filled. Closing sets closed_on; reopening clears it. `check=False` is for
    imports that replay a source's history as it happened."""
    current_stage = opportunity.stage
    if stage.pk == current_stage.pk:
        return opportunity
    if not stage.is_active:
        raise ValidationError({"stage": _("The stage “%(s)s” is no longer in use.") % {"s": stage.label}})
    at = at or timezone.now()
    before = webhooks.record_snapshot(opportunity, PAYLOAD_FIELDS)
    funnel_before = rollup.contributions([opportunity.pk])
    if lost_reason is not None:
        opportunity.lost_reason = lost_reason.strip()
    forward = stage.kind == StageKind.WON or (stage.kind == StageKind.OPEN and stage.order > current_stage.order)
    if check and forward and current_stage.kind == StageKind.OPEN:
        _check_exit(opportunity, current_stage)
    opportunity.stage = stage
    opportunity.stage_entered_at = at
    opportunity.probability = stage.default_probability if probability is None else probability
    opportunity.closed_on = timezone.localdate(at) if stage.is_closed else None
    if stage.kind != StageKind.LOST and lost_reason is None:
        opportunity.lost_reason = ""
    if check:
        _check_required(opportunity, stage)
    opportunity.full_clean(exclude=["owner_unit"])
    opportunity.save()
    _record_entry(opportunity, from_stage=current_stage, at=at, by=by)
    _timeline(opportunity, from_stage=current_stage, at=at, by=by)
    rollup.refresh(funnel_before, [opportunity.pk])
    payload = webhooks.record_payload(opportunity, PAYLOAD_FIELDS, before=before)
    payload["from_stage"], payload["to_stage"] = current_stage.code, stage.code
    webhooks.event_emit(type="opportunity.stage_changed", payload=payload, account_id=opportunity.account_id)
    return opportunity


def opportunity_move_for(*, user: User, opportunity_id: int, stage_id: int, lost_reason: str | None = None
                         ) -> Opportunity:
    with transaction.atomic():
        opportunity = get_visible_or_404(Opportunity.objects.select_for_update().select_related("stage"), user, EDIT,
                                         pk=opportunity_id)
        stage = Stage.objects.filter(pk=stage_id).first()
        if stage is None:
            raise ValidationError({"stage": _("Choose a stage.")})
        return opportunity_move(opportunity=opportunity, stage=stage, by=user, lost_reason=lost_reason)
