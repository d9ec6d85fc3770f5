"""Demo data, part 6: agreements of every type and status with their revenue schedules, orders,
invoices and payments, and some overdue receivables.

Written through the services (agreements.services, receivables.services) so that every invariant —
schedules that add up to the cent, prior versions kept, facts current — holds exactly as in use; the
facts are refreshed once per account at the end rather than after every write. Won demo opportunities
become agreements linked to them. Only what is missing is built (agreement numbers DEMO-HT-NNNN).
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from kamcrm.agreements import services
from kamcrm.agreements.choices import AgreementStatus, AgreementType, BillingCycle, Rule
from kamcrm.agreements.models import Agreement, RevenueSlice
from kamcrm.agreements.schedule import month_of
from kamcrm.analytics.facts import facts_deferred
from kamcrm.customers.models import Account
from kamcrm.org.demo import DEFAULT_SEED, SOURCE, Progress, StageReport, timed_stage, today_local
from kamcrm.products.choices import ProductStatus
from kamcrm.products.models import Product
from kamcrm.receivables import services as receivables
from kamcrm.sales.choices import StageKind
from kamcrm.sales.models import Opportunity

AGREEMENTS_PER_ACCOUNT = 0.06  # 120 agreements on the default 2,000 accounts
MIN_AGREEMENTS = 30
CENT = Decimal("0.01")
TAX = Decimal("0.06")  # VAT on telecom value-added services
TITLES = {
    AgreementType.FRAMEWORK: ["集团信息化框架协议", "年度通信服务框架协议", "战略合作框架协议"],
    AgreementType.SERVICE: ["互联网专线服务协议", "5G 专网服务协议", "云资源租用协议", "IDC 机柜租用协议"],
    AgreementType.PROJECT: ["智慧园区建设项目协议", "视频监控集成项目协议", "数据中心迁移项目协议"],
}
# The status each agreement is taken to, in turn: every status appears in any 25 agreements in a row.
STATUS_CYCLE = ["active", "expired", "active", "signed", "draft", "active", "terminated", "amended", "active",
                "in_approval", "suspended", "active", "expired", "renewed", "active", "amended", "signed", "active",
                "terminated", "draft", "active", "expired", "suspended", "active", "amended"]


def _at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10)))


def build_agreements(*, seed: int = DEFAULT_SEED, today: dt.date | None = None, count: int | None = None,
                     progress: Progress | None = None) -> StageReport:
    today = today or today_local()
    rnd = random.Random(seed * 11 + 5)
    with timed_stage("agreements", progress) as report:
        done = set(Agreement.objects.filter(number__startswith="DEMO-HT-").values_list("number", flat=True))
        accounts = list(Account.objects.filter(source_system=SOURCE).exclude(external_id="")
                        .select_related("owner").order_by("external_id"))
        products = list(Product.objects.filter(status=ProductStatus.ACTIVE).order_by("code"))
        if not accounts or not products:
            return report
        count = count or max(MIN_AGREEMENTS, round(len(accounts) * AGREEMENTS_PER_ACCOUNT))
        won = {o.account_id: o for o in Opportunity.objects.filter(source_system=SOURCE, stage__kind=StageKind.WON)
               .order_by("id")}
        made = {"agreements": 0, "invoices": 0, "payments": 0, "orders": 0}
        # Key accounts first: they carry the revenue.
        accounts.sort(key=lambda a: (a.tier not in ("strategic", "key"), a.external_id))
        with facts_deferred():
            _build(rnd, count, done, accounts, products, won, today, made)
        report.created = made
    return report


def _build(rnd: random.Random, count: int, done: set[str], accounts: list[Account], products: list[Product],
           won: dict[int, Opportunity], today: dt.date, made: dict[str, int]) -> None:
    for i in range(count):
        number = f"DEMO-HT-{i + 1:04d}"
        account = accounts[i % len(accounts)]
        target = STATUS_CYCLE[i % len(STATUS_CYCLE)]
        if number in done:
            continue
        agreement = _make(rnd, number, account, products, won.get(account.pk), target, today)
        made["agreements"] += 1
        if agreement.status in (AgreementStatus.DRAFT, AgreementStatus.IN_APPROVAL, AgreementStatus.SIGNED):
            continue
        if rnd.random() < 0.4:
            _order(rnd, agreement, products, made)
        _bill(rnd, agreement, today, made)
        _recognise(agreement, today, made)


def _recognise(agreement: Agreement, today: dt.date, made: dict[str, int]) -> None:
    """Finance's recognised revenue for the months already closed: the expected slice, a twentieth less
    every third month (so that recognised and expected differ somewhere). No randomness: the demo's other
    figures stay as they were."""
    this_month = month_of(today)
    slices = (RevenueSlice.objects.filter(agreement=agreement, superseded_at__isnull=True, month__lt=this_month)
              .select_related("line__agreement").order_by("month", "line_id"))
    for index, piece in enumerate(slices):
        amount = piece.amount if index % 3 else (piece.amount * Decimal("0.95")).quantize(CENT)
        if amount:
            services.revenue_recognise(line=piece.line, month=piece.month, amount=amount)
            made["recognised"] = made.get("recognised", 0) + 1


def _make(rnd: random.Random, number: str, account: Account, products: list[Product], opportunity, target: str,
          today: dt.date) -> Agreement:
    kind = rnd.choice([AgreementType.SERVICE, AgreementType.SERVICE, AgreementType.FRAMEWORK, AgreementType.PROJECT])
    if target == "signed":
        start = month_of(today + dt.timedelta(days=rnd.randint(20, 80)))
    elif target == "expired":
        start = month_of(today - dt.timedelta(days=rnd.randint(500, 800)))
    elif target in ("draft", "in_approval"):
        start = month_of(today + dt.timedelta(days=rnd.randint(10, 60)))
    else:
        start = month_of(today - dt.timedelta(days=rnd.randint(60, 420)))
    if target == "expired":
        months = rnd.choice([12, 12, 18])
    else:
        months = rnd.choice([12, 24, 36]) if kind != AgreementType.PROJECT else rnd.choice([6, 9, 12])
    if rnd.random() < 0.15:  # some run from mid-month: pro-rated by day
        start = start + dt.timedelta(days=14)
    end = _add_months(start, months) - dt.timedelta(days=1)
    while target not in ("expired", "signed", "draft", "in_approval") and end <= today + dt.timedelta(days=30):
        months += 12  # still running today
        end = _add_months(start, months) - dt.timedelta(days=1)
    lines = []
    for product in rnd.sample(products, k=min(len(products), rnd.randint(1, 3))):
        monthly = (product.list_price * Decimal(rnd.randint(1, 8)) * Decimal(rnd.choice(["0.85", "0.9", "1"])))
        monthly = monthly.quantize(Decimal("1"))
        if kind == AgreementType.PROJECT:
            rule = rnd.choice([Rule.MILESTONE, Rule.ONE_OFF])
            value = (monthly * months).quantize(CENT)
            line = {"product": product, "quantity": Decimal(1), "unit_price": value, "amount": value, "rule": rule,
                    "billing_cycle": BillingCycle.ONE_OFF}
            if rule == Rule.MILESTONE:
                first = (value * Decimal("0.3")).quantize(CENT)
                second = (value * Decimal("0.4")).quantize(CENT)
                line["milestones"] = [(start + dt.timedelta(days=20), first),
                                      (start + (end - start) / 2, second),
                                      (end, value - first - second)]
            else:
                line["delivery_date"] = start + dt.timedelta(days=rnd.randint(10, 60))
        else:
            rule = Rule.DAILY if start.day != 1 else rnd.choice([Rule.MONTHLY, Rule.MONTHLY, Rule.USAGE])
            quantity = Decimal(rnd.randint(1, 6))
            unit_price = (monthly / quantity).quantize(CENT)
            line = {"product": product, "quantity": quantity * months, "unit_price": unit_price,
                    "amount": (quantity * months * unit_price).quantize(CENT), "rule": rule,
                    "billing_cycle": BillingCycle.USAGE if rule == Rule.USAGE else
                    rnd.choice([BillingCycle.MONTHLY, BillingCycle.MONTHLY, BillingCycle.QUARTERLY])}
        lines.append(line)
    title = f"{account.short_name or account.name}{rnd.choice(TITLES[kind])}"
    agreement = services.agreement_create(
        account=account, number=number, title=title[:200], owner=account.owner, start_date=start, end_date=end,
        lines=lines, type=kind, opportunity=opportunity if opportunity and rnd.random() < 0.5 else None,
        partner=rnd.choice(["", "", "", "江苏某系统集成有限公司", "华信网络工程有限公司"]),
        source_system=SOURCE, external_id=number.lower())
    if target == "draft":
        return agreement
    services.agreement_submit(agreement=agreement)
    if target == "in_approval":
        return agreement
    signed_at = _at(min(start, today) - dt.timedelta(days=rnd.randint(3, 20)))
    services.agreement_sign(agreement=agreement, by=account.owner, at=signed_at, signed_on=signed_at.date())
    if target == "expired":
        services.agreements_roll(today=today)
    elif target == "suspended":
        services.agreement_suspend(agreement=agreement, effective=today - dt.timedelta(days=rnd.randint(5, 40)),
                                   note="客户欠费，暂停服务", by=account.owner)
    elif target == "terminated":
        services.agreement_terminate(agreement=agreement, effective=today - dt.timedelta(days=rnd.randint(5, 40)),
                                     note="客户业务调整，提前解约", by=account.owner)
    elif target == "amended":
        line = agreement.lines.exclude(rule__in=[Rule.MILESTONE, Rule.ONE_OFF]).first()
        if line is not None:
            effective = month_of(today - dt.timedelta(days=rnd.randint(0, 50)))
            if effective > agreement.start_date:
                services.agreement_amend(agreement=agreement, effective=effective, by=account.owner,
                                         lines=[{"id": line.pk, "amount": (line.amount * Decimal("1.2")).quantize(CENT)}],
                                         note="扩容 20%")
    elif target == "renewed":
        renewal = services.agreement_renew(agreement=agreement, number=f"{agreement.number}-R",
                                           end_date=_add_months(agreement.end_date + dt.timedelta(days=1), 12)
                                           - dt.timedelta(days=1))
        services.agreement_submit(agreement=renewal)
        services.agreement_sign(agreement=renewal, by=account.owner, at=_at(today - dt.timedelta(days=2)))
    agreement.refresh_from_db()
    return agreement


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1, day=min(day.day, 28))


def _order(rnd: random.Random, agreement: Agreement, products: list[Product], made: dict) -> None:
    line = agreement.lines.select_related("product").first()
    order = services.order_create(
        account=agreement.account, agreement=agreement, number=f"{agreement.number}-DD1", owner=agreement.owner,
        ordered_on=agreement.start_date, lines=[{"product": line.product, "quantity": Decimal(rnd.randint(1, 5)),
                                                 "unit_price": line.product.list_price}])
    first = order.lines.first()
    if rnd.random() < 0.7:
        services.order_deliver(order=order, line=first, quantity=first.quantity)
    made["orders"] += 1


def _bill(rnd: random.Random, agreement: Agreement, today: dt.date, made: dict) -> None:
    """One invoice per past month of the schedule (the expected amount, plus VAT), due 30 days later;
    most are paid, some late, a few still open past their due date."""
    from kamcrm.agreements.models import RevenueSlice
    from kamcrm.products.models import ProductLine

    product_lines = ProductLine.objects.in_bulk()

    slices = (RevenueSlice.objects.filter(agreement=agreement, superseded_at__isnull=True, month__lt=month_of(today))
              .values_list("month", "line__product__line_id").annotate(total=Sum("amount"))
              .order_by("month", "line__product__line_id"))
    bad_payer = rnd.random() < 0.2
    for month, line_id, total in slices:
        amount = Decimal(str(total)).quantize(CENT)  # SQLite sums through floating point
        if not amount:
            continue
        invoice_date = _add_months(month, 1)
        if invoice_date > today:
            continue
        tax = (amount * TAX).quantize(CENT)
        invoice = receivables.invoice_create(
            account=agreement.account, agreement=agreement, number=f"FP-{agreement.number[8:]}-{month:%Y%m}-{line_id}",
            invoice_date=invoice_date, amount=amount, tax=tax, product_line=product_lines.get(line_id), refresh=False,
            source_system=SOURCE)
        made["invoices"] += 1
        due = invoice.due_date
        if bad_payer and due > today - dt.timedelta(days=150):
            if rnd.random() < 0.5:
                continue  # left open: overdue now, some past 90 days
        days = rnd.choice([-10, -3, 0, 0, 5, 12, 25, 40]) if not bad_payer else rnd.randint(10, 70)
        paid_on = due + dt.timedelta(days=days)
        if paid_on > today:
            continue
        share = Decimal("1") if rnd.random() < 0.9 else Decimal("0.5")
        receivables.payment_create(account=agreement.account, received_on=paid_on, amount=(invoice.total * share)
                                   .quantize(CENT), allocations=[(invoice, (invoice.total * share).quantize(CENT))],
                                   refresh=False, reference=f"YH{paid_on:%Y%m%d}{invoice.pk:06d}")
        made["payments"] += 1
