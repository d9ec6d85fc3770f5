"""Every write to agreements, their revenue schedules and orders (K4, K5).

Life of an agreement: draft → in approval → signed (its lines get their first schedule; active once
its start date has come) → amended / suspended / resumed / terminated early → expired at its end, or
renewed by a new agreement. Each change from an effective date re-splits only the months from that
date's month on; the slices it replaces stay in the table with `superseded_at` set, so every past
version of the schedule stays answerable (selectors.expected_as_of).

Every write here refreshes the revenue facts of the account in the same transaction.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.agreements import schedule as sched
from kamcrm.agreements.choices import AgreementStatus, ChangeKind, OrderStatus, Rule
from kamcrm.agreements.models import (
    Agreement,
    AgreementChange,
    AgreementLine,
    Order,
    OrderLine,
    RevenueRecognition,
    RevenueSlice,
)
from kamcrm.analytics.facts import facts_refresh
from kamcrm.core.services import model_update
from kamcrm.org.models import User
from kamcrm.org.selectors import EDIT, get_visible_or_404
from kamcrm.webhooks import services as webhooks

EDITABLE_STATUSES = (AgreementStatus.DRAFT, AgreementStatus.IN_APPROVAL)
CHANGEABLE_STATUSES = (AgreementStatus.SIGNED, AgreementStatus.ACTIVE)
AGREEMENT_FIELDS = ["title", "type", "owner", "signing_unit", "start_date", "end_date", "currency", "partner",
                    "opportunity", "renewal_notice_days", "notes", "number", "source_system", "external_id"]
LINE_FIELDS = ["product", "quantity", "unit_price", "amount", "billing_cycle", "rule", "remainder", "start_date",
               "end_date", "delivery_date", "milestones"]
PAYLOAD_FIELDS = ["number", "title", "type", "status", "account", "owner", "start_date", "end_date", "total_value"]


# ---- terms and slices ---------------------------------------------------------------------------

def line_terms(line: AgreementLine) -> sched.Terms:
    milestones = tuple((dt.date.fromisoformat(str(d)), Decimal(str(a))) for d, a in (line.milestones or []))
    return sched.Terms(amount=line.amount, start=line.start_date, end=line.end_date, rule=line.rule,
                       remainder=line.remainder, delivery=line.delivery_date, milestones=milestones)


def current_schedule(line: AgreementLine) -> sched.Schedule:
    return {s.month: s.amount for s in RevenueSlice.objects.filter(line=line, superseded_at__isnull=True)}


def _write(line: AgreementLine, new: sched.Schedule, *, since: dt.date | None, at: dt.datetime,
           current: sched.Schedule | None = None) -> set[dt.date]:
    """Supersede the line's current slices from `since`'s month on (all when None) and write `new`'s
    months from there on as the next version. Returns the months touched. `current`: the line's
    current schedule when the caller has read it already (saves a query)."""
    superseded = RevenueSlice.objects.filter(line=line, superseded_at__isnull=True)
    if since is not None:
        superseded = superseded.filter(month__gte=sched.month_of(since))
    if current is None:
        touched = set(superseded.values_list("month", flat=True))
    else:
        touched = {m for m in current if since is None or m >= sched.month_of(since)}
    superseded.update(superseded_at=at)
    line.version += 1
    rows = [RevenueSlice(line=line, agreement_id=line.agreement_id, month=month, amount=amount,
                         version=line.version, recorded_at=at)
            for month, amount in sorted(new.items()) if since is None or month >= sched.month_of(since)]
    RevenueSlice.objects.bulk_create(rows)
    AgreementLine.objects.filter(pk=line.pk).update(version=line.version)
    return touched | {r.month for r in rows}


def _line_amount(data: dict[str, Any]) -> Decimal:
    if data.get("amount") not in (None, ""):
        return Decimal(str(data["amount"]))
    return (Decimal(str(data.get("quantity") or 1)) * Decimal(str(data.get("unit_price") or 0))).quantize(sched.CENT)


def _build_line(agreement: Agreement, data: dict[str, Any]) -> AgreementLine:
    data = {k: v for k, v in data.items() if k in LINE_FIELDS}
    data.setdefault("start_date", agreement.start_date)
    data.setdefault("end_date", agreement.end_date)
    data.setdefault("unit_price", data.get("amount") or Decimal("0"))
    data["amount"] = _line_amount(data)
    if data.get("milestones"):
        data["milestones"] = [[str(d), str(Decimal(str(a)))] for d, a in data["milestones"]]
    line = AgreementLine(agreement=agreement, **data)
    errors: dict[str, list[str]] = {}
    if line.start_date < agreement.start_date or line.end_date > agreement.end_date:
        errors["start_date"] = [_("A line runs within its agreement's dates (%(start)s – %(end)s).")
                                % {"start": agreement.start_date, "end": agreement.end_date}]
    try:
        line.full_clean(exclude=["agreement"])
        sched.split(line_terms(line))  # the rule can schedule these terms
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return line


def _refresh(agreement: Agreement, months: set[dt.date] | None = None) -> None:
    """The agreement's total from its lines, and the account's expected revenue in `months` (only the
    schedule changed here: billed and collected stay as they are)."""
    total = AgreementLine.objects.filter(agreement=agreement).aggregate(v=Sum("amount"))["v"] or Decimal("0")
    agreement.total_value = Decimal(str(total)).quantize(sched.CENT)
    Agreement.objects.filter(pk=agreement.pk).update(total_value=agreement.total_value)
    if months is None or months:
        facts_refresh([agreement.account_id], months, measures=("expected",))


def _record(agreement: Agreement, *, kind: str, effective: dt.date, at: dt.datetime, by: User | None, note: str,
            before: Decimal) -> AgreementChange:
    from django.contrib.contenttypes.models import ContentType

    from kamcrm.audit.models import TimelineEvent

    change = AgreementChange.objects.create(agreement=agreement, kind=kind, effective_date=effective, recorded_at=at,
                                            by=by, note=note, value_before=before, value_after=agreement.total_value)
    TimelineEvent.objects.create(
        account_id=agreement.account_id, occurred_at=at, kind="agreement_change", actor=by,
        summary=_("Agreement %(number)s %(kind)s from %(date)s") % {
            "number": agreement.number, "kind": ChangeKind(kind).label, "date": effective.isoformat()},
        content_type=ContentType.objects.get_for_model(Agreement), object_id=agreement.pk,
        data={"kind": kind, "effective": effective.isoformat(), "before": str(before),
              "after": str(agreement.total_value)})
    return change


def _set_status(agreement: Agreement, status: str, on: dt.date) -> None:
    agreement.status, agreement.status_since = status, on
    Agreement.objects.filter(pk=agreement.pk).update(status=status, status_since=on)


# ---- drafts -------------------------------------------------------------------------------------

@transaction.atomic
def agreement_create(*, by: User | None = None, account, number: str, title: str, owner: User,
                     start_date: dt.date, end_date: dt.date, lines: list[dict[str, Any]] | None = None,
                     signing_unit=None, renews: Agreement | None = None, **data: Any) -> Agreement:
    agreement = Agreement(account=account, number=(number or "").strip(), title=(title or "").strip(), owner=owner,
                          signing_unit=signing_unit or owner.unit, start_date=start_date, end_date=end_date,
                          renews=renews,
                          **{k: v for k, v in data.items() if k in AGREEMENT_FIELDS})
    agreement.full_clean()
    _check_opportunity(agreement)
    agreement.save()
    built = [_build_line(agreement, row) for row in (lines or [])]
    for line in built:
        line.save()
    _refresh(agreement, months=set())
    return agreement


@transaction.atomic
def agreement_update(*, agreement: Agreement, data: dict[str, Any], by: User | None = None) -> Agreement:
    """Change a draft (or one in approval): fields, and its lines when `lines` is given (replaced)."""
    if agreement.status not in EDITABLE_STATUSES:
        raise ValidationError({"status": _("A signed agreement changes through an amendment, not by editing it.")})
    data = dict(data)
    lines = data.pop("lines", None)
    agreement, _changed = model_update(instance=agreement, fields=AGREEMENT_FIELDS, data=data)
    _check_opportunity(agreement)
    if lines is not None:
        built = [_build_line(agreement, row) for row in lines]
        for old in agreement.lines.all():
            old.delete()
        for line in built:
            line.save()
    else:
        _check_lines_fit(agreement)
    _refresh(agreement, months=set())
    return agreement


def _check_opportunity(agreement: Agreement) -> None:
    if agreement.opportunity_id and agreement.opportunity.account_id != agreement.account_id:
        raise ValidationError({"opportunity": _("The opportunity belongs to another account.")})


def _check_lines_fit(agreement: Agreement) -> None:
    """New dates for a draft whose lines are kept: every line must still run within them (else signing
    would schedule revenue outside the agreement)."""
    lines = list(agreement.lines.all())
    if any(line.end_date > agreement.end_date for line in lines):
        field = "end_date"
    elif any(line.start_date < agreement.start_date for line in lines):
        field = "start_date"
    else:
        return
    raise ValidationError({field: _("Some lines run outside %(start)s – %(end)s; change their dates as well.")
                           % {"start": agreement.start_date, "end": agreement.end_date}})


def agreement_submit(*, agreement: Agreement, by: User | None = None) -> Agreement:
    if agreement.status != AgreementStatus.DRAFT:
        raise ValidationError({"status": _("Only a draft can be submitted for approval.")})
    if not agreement.lines.exists():
        raise ValidationError({"lines": _("Add at least one line before submitting the agreement.")})
    _set_status(agreement, AgreementStatus.IN_APPROVAL, timezone.localdate())
    return agreement


# ---- signing and changes ------------------------------------------------------------------------

@transaction.atomic
def agreement_sign(*, agreement: Agreement, by: User | None = None, signed_on: dt.date | None = None,
                   at: dt.datetime | None = None) -> Agreement:
    """Sign: every line gets its first schedule; active at once if it has started."""
    if agreement.status not in EDITABLE_STATUSES:
        raise ValidationError({"status": _("This agreement is already signed.")})
    lines = list(agreement.lines.select_for_update())
    if not lines:
        raise ValidationError({"lines": _("An agreement without lines cannot be signed.")})
    at = at or timezone.now()
    signed_on = signed_on or timezone.localdate(at)
    months: set[dt.date] = set()
    for line in lines:
        months |= _write(line, sched.split(line_terms(line)), since=None, at=at)
    agreement.signed_on = signed_on
    Agreement.objects.filter(pk=agreement.pk).update(signed_on=signed_on)
    status = AgreementStatus.ACTIVE if agreement.start_date <= timezone.localdate(at) else AgreementStatus.SIGNED
    _set_status(agreement, status, signed_on)
    _refresh(agreement, months)
    _record(agreement, kind=ChangeKind.SIGNED, effective=agreement.start_date, at=at, by=by, note="",
            before=Decimal("0"))
    if agreement.renews_id:
        previous = Agreement.objects.get(pk=agreement.renews_id)
        _set_status(previous, AgreementStatus.RENEWED, signed_on)
    payload = webhooks.record_payload(agreement, PAYLOAD_FIELDS)
    webhooks.event_emit(type="agreement.signed", payload=payload, account_id=agreement.account_id)
    return agreement


def _check_effective(agreement: Agreement, effective: dt.date) -> None:
    if not agreement.start_date <= effective <= agreement.end_date:
        raise ValidationError({"effective_date": _("The effective date must fall within the agreement "
                                                   "(%(start)s – %(end)s).") % {"start": agreement.start_date,
                                                                              "end": agreement.end_date}})


@transaction.atomic
def agreement_amend(*, agreement: Agreement, effective: dt.date, lines: list[dict[str, Any]] | None = None,
                    add: list[dict[str, Any]] | None = None, remove: list[int] | None = None,
                    end_date: dt.date | None = None, note: str = "", by: User | None = None,
                    at: dt.datetime | None = None) -> AgreementChange:
    """Change a signed agreement from `effective` on. `lines`: {"id": …, and any of amount, quantity,
    unit_price, end_date, rule, remainder, delivery_date, milestones} — `amount` is the line's new total
    value; what was scheduled before `effective`'s month stays and the rest is re-split. `add`: new lines
    (starting on or after `effective`). `remove`: line ids ended the day before `effective`.
    `end_date` moves the agreement's end (lines that ran to the old end follow)."""
    if agreement.status not in CHANGEABLE_STATUSES:
        raise ValidationError({"status": _("Only a signed or active agreement can be amended (it is %(status)s).")
                               % {"status": agreement.get_status_display()}})
    at = at or timezone.now()
    before = agreement.total_value
    old_end = agreement.end_date
    if end_date is not None and end_date != old_end:
        if end_date < effective - dt.timedelta(days=1):
            raise ValidationError({"end_date": _("The new end date is before the effective date.")})
        agreement.end_date = end_date
        Agreement.objects.filter(pk=agreement.pk).update(end_date=end_date)
    _check_effective(agreement, effective)
    by_id = {line.pk: line for line in agreement.lines.select_for_update()}
    months: set[dt.date] = set()
    changes = {int(row["id"]): row for row in (lines or [])}
    if end_date is not None:
        for line in by_id.values():
            if line.end_date == old_end and line.pk not in changes:
                changes[line.pk] = {"id": line.pk}
            if line.pk in changes and line.end_date == old_end:
                changes[line.pk].setdefault("end_date", end_date)
    for line_id, row in changes.items():
        line = by_id.get(line_id)
        if line is None:
            raise ValidationError({"lines": _("Line %(id)s is not on this agreement.") % {"id": line_id}})
        months |= _amend_line(line, row, effective=effective, at=at)
    for line_id in remove or []:
        line = by_id.get(int(line_id))
        if line is None:
            raise ValidationError({"remove": _("Line %(id)s is not on this agreement.") % {"id": line_id}})
        months |= _end_line(line, effective=effective, at=at)
    for row in add or []:
        row = {**row, "start_date": max(row.get("start_date") or effective, effective)}
        line = _build_line(agreement, row)
        line.save()
        months |= _write(line, sched.split(line_terms(line)), since=None, at=at)
    _refresh(agreement, months)
    return _record(agreement, kind=ChangeKind.AMENDED, effective=effective, at=at, by=by, note=note, before=before)


def _amend_line(line: AgreementLine, row: dict[str, Any], *, effective: dt.date, at: dt.datetime) -> set[dt.date]:
    current = current_schedule(line)
    row = {k: v for k, v in row.items() if k in LINE_FIELDS and k not in ("product", "start_date")}
    if "amount" not in row and ("quantity" in row or "unit_price" in row):
        row["amount"] = (Decimal(str(row.get("quantity", line.quantity))) *
                         Decimal(str(row.get("unit_price", line.unit_price)))).quantize(sched.CENT)
    if row.get("milestones"):
        row["milestones"] = [[str(d), str(Decimal(str(a)))] for d, a in row["milestones"]]
    for name, value in row.items():
        setattr(line, name, value)
    line.amount = Decimal(str(line.amount)).quantize(sched.CENT)
    # The product does not change and Terms() refuses a negative value: no query-backed checks needed.
    line.full_clean(exclude=["agreement", "product"], validate_constraints=False)
    new = sched.resplit(current, line_terms(line), effective)
    line.save()
    return _write(line, new, since=effective, at=at, current=current)


def _end_line(line: AgreementLine, *, effective: dt.date, at: dt.datetime) -> set[dt.date]:
    """End the line the day before `effective`: its value becomes what its schedule gave up to then."""
    if effective <= line.start_date:
        earned, line.end_date = Decimal("0.00"), line.start_date
    else:
        current = current_schedule(line)
        earned = sched.earned_through(current, line_terms(line), effective - dt.timedelta(days=1))
        line.end_date = min(line.end_date, effective - dt.timedelta(days=1))
    line.amount = earned
    if line.rule == Rule.MILESTONE:
        kept = [[d, a] for d, a in line.milestones if dt.date.fromisoformat(d) < sched.month_of(effective)]
        line.milestones = kept
        line.amount = sum((Decimal(a) for _d, a in kept), Decimal("0.00"))
    new = sched.resplit(current_schedule(line), line_terms(line), effective)
    line.save()
    return _write(line, new, since=effective, at=at)


@transaction.atomic
def agreement_suspend(*, agreement: Agreement, effective: dt.date, note: str = "", by: User | None = None,
                      at: dt.datetime | None = None) -> AgreementChange:
    """Stop revenue from `effective` on (lines keep their end dates, so a resumption knows the rest)."""
    if agreement.status not in CHANGEABLE_STATUSES:
        raise ValidationError({"status": _("Only a signed or active agreement can be suspended.")})
    _check_effective(agreement, effective)
    at = at or timezone.now()
    before = agreement.total_value
    months: set[dt.date] = set()
    for line in agreement.lines.select_for_update():
        current = current_schedule(line)
        terms = line_terms(line)
        earned = sched.earned_through(current, terms, effective - dt.timedelta(days=1)) \
            if effective > line.start_date else Decimal("0.00")
        new = {m: v for m, v in current.items() if m < sched.month_of(effective)}
        rest = earned - sum(new.values(), Decimal("0.00"))
        if rest:
            new[sched.month_of(effective)] = rest  # the days of the effective month before the suspension
        line.amount = earned
        line.save(update_fields=["amount"])
        months |= _write(line, new, since=effective, at=at)
    _set_status(agreement, AgreementStatus.SUSPENDED, effective)
    _refresh(agreement, months)
    return _record(agreement, kind=ChangeKind.SUSPENDED, effective=effective, at=at, by=by, note=note, before=before)


@transaction.atomic
def agreement_resume(*, agreement: Agreement, effective: dt.date, note: str = "", by: User | None = None,
                     at: dt.datetime | None = None) -> AgreementChange:
    """Revenue starts again on `effective` at the rate it had before the suspension, to each line's end."""
    if agreement.status != AgreementStatus.SUSPENDED:
        raise ValidationError({"status": _("Only a suspended agreement can be resumed.")})
    suspension = agreement.changes.filter(kind=ChangeKind.SUSPENDED).order_by("-recorded_at", "-id").first()
    if suspension is None or effective < suspension.effective_date:
        raise ValidationError({"effective_date": _("An agreement resumes on or after the day it was suspended.")})
    _check_effective(agreement, effective)
    at = at or timezone.now()
    before = agreement.total_value
    months: set[dt.date] = set()
    for line in agreement.lines.select_for_update():
        prior = _schedule_before(line, suspension.recorded_at)
        if effective > line.end_date or not prior:
            continue
        terms = line_terms(line)
        prior_total = sum(prior.values(), Decimal("0.00"))
        rest = prior_total - sched.earned_through(prior, sched.Terms(amount=prior_total, start=terms.start,
                                                                     end=terms.end, rule=terms.rule),
                                                   effective - dt.timedelta(days=1))
        line.amount = line.amount + rest
        new = sched.resplit(current_schedule(line), sched.Terms(
            amount=line.amount, start=terms.start, end=terms.end,
            rule=Rule.MONTHLY if terms.rule == Rule.MILESTONE else terms.rule, remainder=terms.remainder,
            delivery=terms.delivery), effective)
        line.save(update_fields=["amount"])
        months |= _write(line, new, since=effective, at=at)
    _set_status(agreement, AgreementStatus.ACTIVE, effective)
    _refresh(agreement, months)
    return _record(agreement, kind=ChangeKind.RESUMED, effective=effective, at=at, by=by, note=note, before=before)


def _schedule_before(line: AgreementLine, moment: dt.datetime) -> sched.Schedule:
    """The line's schedule as it stood just before `moment`."""
    return {s.month: s.amount for s in RevenueSlice.objects.filter(line=line, recorded_at__lt=moment)
            .exclude(superseded_at__lt=moment)}


@transaction.atomic
def agreement_terminate(*, agreement: Agreement, effective: dt.date, note: str = "", by: User | None = None,
                        at: dt.datetime | None = None) -> AgreementChange:
    """End early: every line ends the day before `effective`, keeping what its schedule gave until then."""
    if agreement.status not in (*CHANGEABLE_STATUSES, AgreementStatus.SUSPENDED):
        raise ValidationError({"status": _("Only a signed, active or suspended agreement can be terminated.")})
    _check_effective(agreement, effective)
    at = at or timezone.now()
    before = agreement.total_value
    months: set[dt.date] = set()
    for line in agreement.lines.select_for_update():
        months |= _end_line(line, effective=effective, at=at)
    new_end = max(agreement.start_date, effective - dt.timedelta(days=1))
    agreement.end_date = new_end
    Agreement.objects.filter(pk=agreement.pk).update(end_date=new_end)
    _set_status(agreement, AgreementStatus.TERMINATED, effective)
    _refresh(agreement, months)
    return _record(agreement, kind=ChangeKind.TERMINATED, effective=effective, at=at, by=by, note=note, before=before)


@transaction.atomic
def agreement_renew(*, agreement: Agreement, number: str, end_date: dt.date, by: User | None = None,
                    start_date: dt.date | None = None, lines: list[dict[str, Any]] | None = None,
                    title: str | None = None) -> Agreement:
    """A draft renewal: a new agreement that `renews` this one, from the day after its end. Its lines
    default to this one's, at the same value per month. Signing it marks this one renewed."""
    if agreement.status not in (*CHANGEABLE_STATUSES, AgreementStatus.EXPIRED):
        raise ValidationError({"status": _("Only a signed, active or expired agreement can be renewed.")})
    start = start_date or agreement.end_date + dt.timedelta(days=1)
    if lines is None:
        months_new = len(sched.months_between(start, end_date))
        lines = []
        for line in agreement.lines.all():
            months_old = max(1, len(sched.months_between(line.start_date, line.end_date)))
            per_month = (line.amount / months_old).quantize(sched.CENT)
            lines.append({"product": line.product, "quantity": line.quantity, "unit_price": per_month,
                          "amount": per_month * months_new, "billing_cycle": line.billing_cycle,
                          "rule": line.rule if line.rule != Rule.MILESTONE else Rule.MONTHLY,
                          "remainder": line.remainder})
    return agreement_create(by=by, account=agreement.account, number=number, title=title or agreement.title,
                            owner=agreement.owner, signing_unit=agreement.signing_unit, start_date=start,
                            end_date=end_date, lines=lines, type=agreement.type, currency=agreement.currency,
                            partner=agreement.partner, renews=agreement,
                            renewal_notice_days=agreement.renewal_notice_days)


def agreements_roll(*, today: dt.date | None = None) -> dict[str, int]:
    """The daily job: signed agreements whose start has come become active; those past their end
    expire; the owner of each running agreement within its renewal notice gets one renewal task."""
    from kamcrm.activities.choices import TaskSource
    from kamcrm.activities.services import task_create

    today = today or timezone.localdate()
    started = Agreement.objects.filter(status=AgreementStatus.SIGNED, start_date__lte=today)
    n_started = started.update(status=AgreementStatus.ACTIVE, status_since=today)
    ended = Agreement.objects.filter(status__in=CHANGEABLE_STATUSES, end_date__lt=today)
    n_ended = ended.update(status=AgreementStatus.EXPIRED, status_since=today)
    reminded = 0
    horizon = today + dt.timedelta(days=366)  # the longest notice a person can set is below a year
    due = (Agreement.objects.filter(status__in=CHANGEABLE_STATUSES, renewal_reminded_on__isnull=True,
                                    end_date__gte=today, end_date__lte=horizon, renewals__isnull=True)
           .select_related("account", "owner"))
    for agreement in due:
        if agreement.end_date - dt.timedelta(days=agreement.renewal_notice_days) > today:
            continue
        with transaction.atomic():
            task_create(title=_("Renew agreement %(number)s with %(account)s (ends on %(end)s)")
                        % {"number": agreement.number, "account": agreement.account.name,
                           "end": agreement.end_date.isoformat()},
                        assignee=agreement.owner, account=agreement.account,
                        due_on=agreement.end_date - dt.timedelta(days=min(30, agreement.renewal_notice_days)),
                        source=TaskSource.RENEWAL)
            Agreement.objects.filter(pk=agreement.pk).update(renewal_reminded_on=today)
        reminded += 1
    return {"activated": n_started, "expired": n_ended, "renewal reminders": reminded}


# ---- the UI and API paths: what the user may edit -----------------------------------------------

def agreement_get_for_edit(*, user: User, agreement_id: int) -> Agreement:
    return get_visible_or_404(Agreement.objects.select_for_update(), user, EDIT, pk=agreement_id)


def _check_owner_for(user: User, owner: User | None) -> None:
    """A person (UI, API) gives an agreement to themself or to someone whose accounts they may edit."""
    from kamcrm.customers.services import owner_assignable

    if owner is not None and not owner_assignable(by=user, owner=owner):
        raise ValidationError({"owner": _("The owner must be you or someone whose accounts you may edit.")})


def _check_lines(agreement: Agreement, lines: list[dict[str, Any]] | None) -> None:
    """Each line checked on its own first, so that an error names its line: `lines.<n>.<field>` (n from 0)."""
    errors: dict[str, list[str]] = {}
    for index, row in enumerate(lines or []):
        try:
            _build_line(agreement, row)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors[f"lines.{index}.{name}"] = messages
    if errors:
        raise ValidationError(errors)


def agreement_create_for(*, user: User, account_id: int, **data: Any) -> Agreement:
    """The UI and API path: the account must be one `user` may edit; the owner one they may assign."""
    from kamcrm.customers.models import Account

    with transaction.atomic():
        account = get_visible_or_404(Account.objects.select_for_update(), user, EDIT, pk=account_id)
        _check_owner_for(user, data.get("owner"))
        if data.get("start_date") and data.get("end_date"):
            _check_lines(Agreement(start_date=data["start_date"], end_date=data["end_date"]), data.get("lines"))
        return agreement_create(by=user, account=account, **data)


def agreement_update_for(*, user: User, agreement_id: int, data: dict[str, Any]) -> Agreement:
    with transaction.atomic():
        agreement = agreement_get_for_edit(user=user, agreement_id=agreement_id)
        if data.get("owner") is not None and data["owner"].pk != agreement.owner_id:
            _check_owner_for(user, data["owner"])
        if data.get("lines") is not None and agreement.status in EDITABLE_STATUSES:
            _check_lines(Agreement(start_date=data.get("start_date") or agreement.start_date,
                                   end_date=data.get("end_date") or agreement.end_date), data["lines"])
        return agreement_update(agreement=agreement, data=data, by=user)


def agreement_submit_for(*, user: User, agreement_id: int) -> Agreement:
    with transaction.atomic():
        return agreement_submit(agreement=agreement_get_for_edit(user=user, agreement_id=agreement_id), by=user)


def agreement_sign_for(*, user: User, agreement_id: int, signed_on: dt.date | None = None) -> Agreement:
    with transaction.atomic():
        return agreement_sign(agreement=agreement_get_for_edit(user=user, agreement_id=agreement_id), by=user,
                              signed_on=signed_on)


def agreement_amend_for(*, user: User, agreement_id: int, effective: dt.date, **changes: Any) -> AgreementChange:
    with transaction.atomic():
        agreement = agreement_get_for_edit(user=user, agreement_id=agreement_id)
        return agreement_amend(agreement=agreement, effective=effective, by=user, **changes)


def agreement_suspend_for(*, user: User, agreement_id: int, effective: dt.date, note: str = "") -> AgreementChange:
    with transaction.atomic():
        return agreement_suspend(agreement=agreement_get_for_edit(user=user, agreement_id=agreement_id),
                                 effective=effective, note=note, by=user)


def agreement_resume_for(*, user: User, agreement_id: int, effective: dt.date, note: str = "") -> AgreementChange:
    with transaction.atomic():
        return agreement_resume(agreement=agreement_get_for_edit(user=user, agreement_id=agreement_id),
                                effective=effective, note=note, by=user)


def agreement_terminate_for(*, user: User, agreement_id: int, effective: dt.date, note: str = "") -> AgreementChange:
    with transaction.atomic():
        return agreement_terminate(agreement=agreement_get_for_edit(user=user, agreement_id=agreement_id),
                                   effective=effective, note=note, by=user)


def agreement_renew_for(*, user: User, agreement_id: int, number: str, end_date: dt.date, **data: Any) -> Agreement:
    with transaction.atomic():
        return agreement_renew(agreement=agreement_get_for_edit(user=user, agreement_id=agreement_id),
                               number=number, end_date=end_date, by=user, **data)


# ---- orders -------------------------------------------------------------------------------------

@transaction.atomic
def order_create(*, by: User | None = None, account, number: str, ordered_on: dt.date, owner: User,
                 lines: list[dict[str, Any]], agreement: Agreement | None = None, **data: Any) -> Order:
    if agreement is not None and agreement.account_id != account.pk:
        raise ValidationError({"agreement": _("The agreement belongs to another account.")})
    if not lines:
        raise ValidationError({"lines": _("An order needs at least one line.")})
    order = Order(account=account, number=(number or "").strip(), ordered_on=ordered_on, owner=owner,
                  agreement=agreement, **{k: v for k, v in data.items() if k in ("status", "source_system",
                                                                                   "external_id")})
    order.full_clean()
    order.save()
    rows = []
    for i, row in enumerate(lines, start=1):
        quantity, price = Decimal(str(row.get("quantity") or 1)), Decimal(str(row["unit_price"]))
        line = OrderLine(order=order, product=row["product"], quantity=quantity, unit_price=price,
                         amount=(quantity * price).quantize(sched.CENT),
                         delivered_quantity=Decimal(str(row.get("delivered_quantity") or 0)))
        try:
            line.full_clean(exclude=["order"])
        except ValidationError as exc:
            raise ValidationError({f"lines[{i}]": [f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()]}) from exc
        line.save()
        rows.append(line)
    order.total = sum((r.amount for r in rows), Decimal("0"))
    order.status = _order_status(rows, order.status)
    Order.objects.filter(pk=order.pk).update(total=order.total, status=order.status)
    return order


def _order_status(lines: list[OrderLine], status: str) -> str:
    if status == OrderStatus.CANCELLED:
        return status
    delivered = [line.delivered_quantity >= line.quantity for line in lines]
    if all(delivered):
        return OrderStatus.DELIVERED
    if any(line.delivered_quantity > 0 for line in lines):
        return OrderStatus.PARTLY_DELIVERED
    return OrderStatus.OPEN


@transaction.atomic
def order_deliver(*, order: Order, line: OrderLine, quantity: Decimal, by: User | None = None) -> Order:
    """Record a delivery of `quantity` more on `line`; the order's status follows."""
    if order.status == OrderStatus.CANCELLED:
        raise ValidationError({"status": _("A cancelled order cannot be delivered.")})
    if quantity <= 0 or line.delivered_quantity + quantity > line.quantity:
        raise ValidationError({"quantity": _("Deliver between 0 and %(left)s more.")
                               % {"left": line.quantity - line.delivered_quantity}})
    line.delivered_quantity += quantity
    line.save(update_fields=["delivered_quantity"])
    model_update(instance=order, fields=["status"], data={"status": _order_status(list(order.lines.all()),
                                                                                 order.status)})
    return order


def order_create_for(*, user: User, account_id: int, agreement_id: int | None = None, **data: Any) -> Order:
    """The UI and API path: the account must be one `user` may edit (and so its agreement)."""
    from kamcrm.customers.models import Account

    with transaction.atomic():
        account = get_visible_or_404(Account.objects.select_for_update(), user, EDIT, pk=account_id)
        _check_owner_for(user, data.get("owner"))
        agreement = None
        if agreement_id is not None:
            agreement = Agreement.objects.filter(pk=agreement_id).first()
            if agreement is None:
                raise ValidationError({"agreement": _("No such agreement.")})
        return order_create(by=user, account=account, agreement=agreement, **data)


def order_deliver_for(*, user: User, order_id: int, line_id: int, quantity: Decimal) -> Order:
    with transaction.atomic():
        order = get_visible_or_404(Order.objects.select_for_update(), user, EDIT, pk=order_id)
        line = order.lines.filter(pk=line_id).first()
        if line is None:
            raise ValidationError({"line": _("Line %(id)s is not on this order.") % {"id": line_id}})
        return order_deliver(order=order, line=line, quantity=quantity, by=user)


# ---- recognised revenue (beside the expected slices and the billed invoices) ------------------------

@transaction.atomic
def revenue_recognise(*, line: AgreementLine, month: dt.date, amount: Any, by: User | None = None
                      ) -> RevenueRecognition | None:
    """Record what finance recognised for `line` in `month`, replacing an earlier figure for that month
    (zero removes it). Only signed agreements, and only months of their term."""
    agreement = line.agreement
    if agreement.status in EDITABLE_STATUSES:
        raise ValidationError({"line": _("Revenue is recognised on signed agreements only.")})
    if not isinstance(month, dt.date):
        raise ValidationError({"month": _("Enter a month (YYYY-MM).")})
    month = month.replace(day=1)
    if not agreement.start_date.replace(day=1) <= month <= agreement.end_date:
        raise ValidationError({"month": _("%(month)s is outside the agreement's term (%(start)s – %(end)s).")
                               % {"month": month.strftime("%Y-%m"), "start": agreement.start_date,
                                  "end": agreement.end_date}})
    try:
        amount = Decimal(str(amount)).quantize(sched.CENT)
    except (ArithmeticError, ValueError):
        raise ValidationError({"amount": _("Enter an amount.")}) from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e14"):
        raise ValidationError({"amount": _("Enter an amount.")})
    current = RevenueRecognition.objects.select_for_update().filter(line=line, month=month).first()
    if current is not None and amount == 0:
        current.delete()
        current = None
    elif current is not None:
        if current.amount != amount:
            current.amount, current.recorded_at, current.recorded_by = amount, timezone.now(), by
            current.save()
    elif amount != 0:
        current = RevenueRecognition.objects.create(agreement=agreement, line=line, month=month, amount=amount,
                                                    recorded_at=timezone.now(), recorded_by=by)
    facts_refresh([agreement.account_id], [month], measures=("recognised",))
    return current


def revenue_recognise_for(*, user: User, agreement_id: int, line_id: int, month: dt.date, amount: Any
                          ) -> RevenueRecognition | None:
    """The API and import path: `user` must be able to edit the agreement; the line must be one of its."""
    with transaction.atomic():
        agreement = get_visible_or_404(Agreement.objects.select_for_update(), user, EDIT, pk=agreement_id)
        line = AgreementLine.objects.filter(agreement=agreement, pk=line_id).select_related("agreement").first()
        if line is None:
            raise ValidationError({"line": _("Choose a line of this agreement.")})
        return revenue_recognise(line=line, month=month, amount=amount, by=user)
