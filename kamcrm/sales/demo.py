"""Demo data, part 4: a year of opportunities on the demo accounts, in every stage, with their history.

Planned from the seeded generator and the demo accounts (by external id), then written in bulk in one
transaction, keeping the invariants kamcrm.sales.services keeps one at a time:
- owner = the account's manager, owner_unit = the owner's unit;
- amount = the sum of the lines (quantity × unit price, from the catalogue's list prices less a discount);
- one OpportunityStageChange per stage entered (back-dated over the last year), each earlier one with
  left_at and seconds_in_stage, the opportunity's stage_entered_at = its last entry; closed ones have
  closed_on = the day they closed and lost/abandoned ones a reason;
- the audit "create" entry and "record created" timeline entry (as the audit receiver writes them) and
  one "stage_change" timeline entry per history row (as the services write them).
Opportunities already there (source_system "demo", external id opp-NNNNN) are left alone.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.audit.models import TimelineEvent
from kamcrm.customers.models import Account
from kamcrm.org.demo import (
    DEFAULT_SEED,
    SOURCE,
    Progress,
    StageReport,
    audit_created,
    bulk_insert,
    seeded_random,
    timed_stage,
    today_local,
)
from kamcrm.org.models import User
from kamcrm.products.choices import ProductStatus
from kamcrm.products.models import Product
from kamcrm.sales import rollup
from kamcrm.sales.choices import OpportunitySource, StageKind
from kamcrm.sales.models import Opportunity, OpportunityLine, OpportunityStageChange, Stage
from kamcrm.sales.services import TIMELINE_KIND

HISTORY_DAYS = 365
PER_ACCOUNT = 0.6  # opportunities per demo account
CENT = Decimal("0.01")
LOST_REASONS = ["价格高于竞争对手报价", "客户预算削减，项目暂停", "竞争对手已有存量网络，迁移成本高",
                "客户选择了本地集成商", "技术方案未通过客户评审", "招标资格条件不满足"]
ABANDON_REASONS = ["客户需求不明确，长期无进展", "项目利润率过低", "客户决策人变更，项目搁置"]
COMPETITORS = ["中国移动", "中国电信", "中国联通", "中国广电", "本地系统集成商", ""]
SOURCES = [OpportunitySource.ACCOUNT_PLAN, OpportunitySource.INBOUND, OpportunitySource.CAMPAIGN,
           OpportunitySource.REFERRAL, OpportunitySource.PARTNER, OpportunitySource.LEAD_IMPORT]
# How far deals get: an open stage (index in the open path), won, lost or abandoned.
OUTCOMES = [("open", 0, 8), ("open", 1, 7), ("open", 2, 7), ("open", 3, 12), ("open", 4, 10), ("won", 4, 28),
            ("lost", None, 18), ("abandoned", None, 10)]


@dataclass
class OpportunityPlan:
    ext: str
    account: int
    name: str
    path: list[str]  # stage codes entered, in order
    times: list[dt.datetime]  # when each was entered
    lines: list[tuple[int, Decimal, Decimal]]  # (product id, quantity, unit price)
    expected_close: dt.date
    source: str
    competitor: str
    lost_reason: str = ""
    description: str = ""
    extra: dict = field(default_factory=dict)


def _when(day: dt.date, rnd: random.Random) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(rnd.randrange(8, 19), rnd.choice((0, 15, 30, 45)))))


def plan_opportunities(*, accounts: list[tuple[str, int, str]], products: list[Product], stages: list[Stage],
                       seed: int, today: dt.date) -> list[OpportunityPlan]:
    """A pure plan: `accounts` are (external id, pk, short name) in external-id order."""
    rnd = seeded_random(seed, "opportunities")
    open_path = [s.code for s in stages if s.kind == StageKind.OPEN]
    closing = {StageKind.WON: [s.code for s in stages if s.kind == StageKind.WON],
               StageKind.LOST: [s.code for s in stages if s.kind == StageKind.LOST]}
    on_sale = [p for p in products if p.status in (ProductStatus.ACTIVE, ProductStatus.RETIRING)]
    plans: list[OpportunityPlan] = []
    if not accounts or not on_sale or not open_path:
        return plans
    count = max(1, round(len(accounts) * PER_ACCOUNT))
    weights = [w for _k, _i, w in OUTCOMES]
    for n in range(1, count + 1):
        ext_account, account_id, short = accounts[rnd.randrange(len(accounts))]
        kind, index, _w = rnd.choices(OUTCOMES, weights)[0]
        if kind == "open":
            path = open_path[: index + 1]
        elif kind == "won":
            path = open_path + closing[StageKind.WON][:1]
        else:
            reached = rnd.randrange(1, len(open_path) + 1)
            lost = closing[StageKind.LOST]
            final = lost[0] if kind == "lost" or len(lost) < 2 else lost[1]
            path = open_path[:reached] + [final]
        start = today - dt.timedelta(days=rnd.randrange(0, HISTORY_DAYS))
        steps = [rnd.randrange(2, 35) for _ in path[1:]]
        span = (today - start).days
        if sum(steps) > span:  # deals that started lately have moved faster (or not yet at all)
            steps = [s * span // max(1, sum(steps)) for s in steps]
        days = [start]
        for step in steps:
            days.append(days[-1] + dt.timedelta(days=step))
        times = [_when(d, rnd) for d in days]
        for i in range(1, len(times)):  # the same day: later than the entry before
            if times[i] <= times[i - 1]:
                times[i] = times[i - 1] + dt.timedelta(minutes=rnd.randrange(5, 90))
        chosen = rnd.sample(on_sale, k=rnd.choice((1, 1, 1, 2, 2, 3)))
        lines = []
        for product in chosen:
            quantity = Decimal(rnd.choice((1, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500))
                               if product.list_price < 1000 else rnd.choice((1, 1, 1, 2, 3, 4)))
            discount = Decimal(rnd.randrange(75, 101)) / 100
            lines.append((product.pk, quantity, (product.list_price * discount).quantize(CENT)))
        reason = ""
        if kind == "lost":
            reason = rnd.choice(LOST_REASONS)
        elif kind == "abandoned":
            reason = rnd.choice(ABANDON_REASONS)
        plans.append(OpportunityPlan(
            ext=f"opp-{n:05d}", account=account_id, name=f"{short} {chosen[0].name}项目", path=path, times=times,
            lines=lines, expected_close=start + dt.timedelta(days=rnd.randrange(45, 200)),
            source=rnd.choice(SOURCES), competitor=rnd.choice(COMPETITORS), lost_reason=reason,
            description=f"{ext_account}: {'、'.join(p.name for p in chosen)}"))
    return plans


def build_sales(*, seed: int = DEFAULT_SEED, today: dt.date | None = None,
                progress: Progress | None = None) -> StageReport:
    """A year of opportunities on the demo accounts (about 0.6 per account); only what is missing."""
    today = today or today_local()
    with timed_stage("opportunities", progress) as report:
        accounts = list(Account.objects.filter(source_system=SOURCE).exclude(external_id="")
                        .order_by("external_id").values_list("external_id", "pk", "short_name"))
        products = list(Product.objects.order_by("code"))
        stages = list(Stage.objects.filter(is_active=True).order_by("order", "id"))
        plans = plan_opportunities(accounts=[(e, pk, short or e) for e, pk, short in accounts], products=products,
                                   stages=stages, seed=seed, today=today)
        done = set(Opportunity.objects.filter(source_system=SOURCE).values_list("external_id", flat=True))
        plans = [p for p in plans if p.ext not in done]
        owners = dict(Account.objects.filter(pk__in={p.account for p in plans}).values_list("pk", "owner_id"))
        units = dict(User.objects.filter(pk__in=set(owners.values())).values_list("pk", "unit_id"))
        plans = [p for p in plans if units.get(owners.get(p.account))]
        by_code = {s.code: s for s in stages}
        opportunities = []
        for p in plans:
            stage = by_code[p.path[-1]]
            owner = owners[p.account]
            amount = sum(((q * price).quantize(CENT) for _pid, q, price in p.lines), Decimal("0"))
            opportunities.append(Opportunity(
                account_id=p.account, name=p.name[:200], owner_id=owner, owner_unit_id=units[owner], stage=stage,
                stage_entered_at=p.times[-1], probability=stage.default_probability, amount=amount,
                expected_close_date=p.expected_close, closed_on=(timezone.localdate(p.times[-1]) if stage.is_closed
                                                                 else None),
                source=p.source, competitor=p.competitor, lost_reason=p.lost_reason, description=p.description,
                source_system=SOURCE, external_id=p.ext))
        bulk_insert(Opportunity, opportunities)
        lines, history, events = [], [], []
        ct = ContentType.objects.get_for_model(Opportunity)
        for o, p in zip(opportunities, plans, strict=True):
            for product_id, quantity, price in p.lines:
                lines.append(OpportunityLine(opportunity=o, product_id=product_id, quantity=quantity, unit_price=price,
                                             amount=(quantity * price).quantize(CENT)))
            previous = None
            for i, (code, when) in enumerate(zip(p.path, p.times, strict=True)):
                stage = by_code[code]
                left = p.times[i + 1] if i + 1 < len(p.times) else None
                history.append(OpportunityStageChange(
                    opportunity=o, from_stage=previous, to_stage=stage, changed_at=when, changed_by_id=o.owner_id,
                    amount=o.amount, probability=stage.default_probability, owner_id=o.owner_id,
                    owner_unit_id=o.owner_unit_id, expected_close_date=o.expected_close_date, left_at=left,
                    seconds_in_stage=int((left - when).total_seconds()) if left else None))
                if previous is None:
                    summary = _("Opportunity “%(name)s” created in “%(stage)s”")
                else:
                    summary = _("Opportunity “%(name)s”: %(from)s → %(stage)s")
                events.append(TimelineEvent(
                    account_id=o.account_id, occurred_at=when, kind=TIMELINE_KIND,
                    summary=summary % {"name": o.name, "from": previous.label if previous else "", "stage": stage.label},
                    actor_id=o.owner_id, content_type=ct, object_id=o.pk,
                    data={"from": previous.code if previous else None, "to": stage.code, "amount": str(o.amount),
                          "probability": stage.default_probability}))
                previous = stage
        bulk_insert(OpportunityLine, lines)
        bulk_insert(OpportunityStageChange, history)
        rollup.added([o.pk for o in opportunities])
        bulk_insert(TimelineEvent, events)
        created_at = {o.pk: p.times[0] for o, p in zip(opportunities, plans, strict=True)}
        audit_created(opportunities, occurred_at=lambda o: created_at[o.pk])
        report.created = {"opportunities": len(opportunities), "lines": len(lines), "stage changes": len(history)}
    return report
