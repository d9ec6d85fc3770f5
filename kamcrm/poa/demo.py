"""Demo data, part 8: action plans (POA) in every PDCA state and the sales people's weekly plans and reports
for the last three weeks (issue 6 items 4 and 6), built after the targets.

Action plans: about accounts, an opportunity, units and a person, each at another step — plan, do, check,
act, closed — and one plan whose second cycle opened after the first cycle's feedback; objectives on the
target metrics, actions open, done and overdue. The check step takes its figures from the live figures,
as in use. Weekly: every sales person (account and sales managers) has a plan for each of the three weeks
before this one, three items about their own accounts and opportunities, and — depending on the week —
a report submitted, reviewed by their manager, or only the plan; one person's last week is missing.

Everything goes through the services, in Chinese. The only randomness (which items were done, the
phrasing) comes from this stage's own seeded generator, and nothing here writes a visit, an opportunity
or any other record the demo's figures are computed from. A second run creates nothing: plans are found
by title, weekly plans by person and week.
"""
from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal

from django.utils import timezone

from kamcrm.customers.models import Account
from kamcrm.org.demo import (
    DEFAULT_SEED,
    SOURCE,
    Progress,
    StageReport,
    at,
    seeded_random,
    timed_stage,
    today_local,
)
from kamcrm.org.models import OrgUnit, User
from kamcrm.poa import selectors, services
from kamcrm.poa.choices import WeeklyItemKind
from kamcrm.poa.models import ActionPlan
from kamcrm.sales.choices import StageKind
from kamcrm.sales.models import Opportunity
from kamcrm.targets import services as target_services
from kamcrm.targets.models import Metric

D = Decimal
WEEKS = 3
NOT_DONE_NOTES = ["客户临时改期到下周", "对方负责人出差", "方案还在内部评审", "改为电话沟通，下周再约"]
DONE_NOTES = ["", "", "客户认可方案", "已约定下一步", "已发送报价"]
FOCUS = ["跟进报价反馈，争取进入商务谈判", "约见信息中心主任，推进 5G 专网试点", "催收上月应收款",
         "准备续约方案", "拓展两家新客户"]
REVIEWS = ["拜访节奏不错，注意把商机推进到下一阶段。", "计划完成较好，下周重点盯回款。",
           "未完成的事项下周优先安排。", "报价要先和业务管理部确认底价。"]


def _month(day: dt.date, back: int = 0) -> tuple[dt.date, dt.date]:
    """The first and last day of the month `back` months before `day`'s."""
    year, month = day.year, day.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def build_poa(*, seed: int = DEFAULT_SEED, today: dt.date | None = None,
              progress: Progress | None = None) -> StageReport:
    today = today or today_local()
    with timed_stage("poa", progress) as report:
        target_services.metric_defaults_ensure()
        plans, cycles = _build_plans(today)
        weeklies, reviewed = _build_weeks(seed, today)
        report.created = {"action plans": plans, "cycles": cycles, "weekly plans": weeklies,
                          "weekly reviews": reviewed}
    return report


# ---- action plans ---------------------------------------------------------------------------------------

def _user(username: str) -> User | None:
    return User.objects.filter(username=username, is_active=True).select_related("unit").first()


def _accounts(owner: User, n: int) -> list[Account]:
    return list(Account.objects.filter(owner=owner, source_system=SOURCE).order_by("external_id")[:n])


def _open_opportunity(owner: User) -> Opportunity | None:
    return (Opportunity.objects.filter(owner=owner, stage__kind=StageKind.OPEN).select_related("account")
            .order_by("external_id", "id").first())


def _name(account: Account) -> str:
    return account.short_name or account.name


def _build_plans(today: dt.date) -> tuple[int, int]:
    """Six plans, one per state; each is built whole or (when its title exists) not at all."""
    metrics = {m.code: m for m in Metric.objects.all()}
    rep, rep2, rep_sz = _user("rep_nj1"), _user("rep_nj2"), _user("rep_sz1")
    manager, head_sz = _user("manager_nj1"), _user("head_sz")
    team, branch_sz = OrgUnit.objects.filter(code="JS-NJ-GE1").first(), OrgUnit.objects.filter(code="JS-SZ").first()
    if None in (rep, rep2, rep_sz, manager, head_sz, team, branch_sz) or not metrics:
        return 0, 0
    this_month, last_month, two_ago = _month(today), _month(today, 1), _month(today, 2)
    accounts, sz_accounts = _accounts(rep, 2), _accounts(rep_sz, 1)
    # rep_nj1's open opportunity, else the first open one of any sales person (a small demo has few).
    opportunity = _open_opportunity(rep) or (
        Opportunity.objects.filter(stage__kind=StageKind.OPEN, owner__role__in=selectors.SALES_ROLES)
        .select_related("account", "owner").order_by("owner__username", "external_id", "id").first())
    made = [0, 0]

    def plan(subject, title: str, owner: User):  # noqa: ANN001, ANN202
        if subject is None or ActionPlan.objects.filter(title=title).exists():
            return None
        made[0] += 1
        return services.plan_create(subject=subject, title=title, owner=owner, by=owner)

    def cycle(p, period, objectives, actions, by: User):  # noqa: ANN001, ANN202
        c = services.cycle_open(plan=p, period_start=period[0], period_end=period[1], by=by)
        made[1] += 1
        for code, target in objectives:
            services.objective_add(cycle=c, metric=metrics[code], target=D(target), by=by)
        for title, owner, due, done in actions:
            action = services.action_add(cycle=c, title=title, owner=owner, due_on=due, by=by)
            if done:
                services.action_complete(action=action, by=owner)
        return c

    def step(c, until: str, feedback: str = "", by: User | None = None) -> None:  # noqa: ANN001
        order = ["do", "check", "act", "closed"]
        for s in order[: order.index(until) + 1]:
            if s == "do":
                services.cycle_start(cycle=c, by=by)
            elif s == "check":
                services.cycle_check(cycle=c, by=by)
            elif s == "act":
                services.cycle_act(cycle=c, by=by)
            else:
                services.cycle_feedback(cycle=c, feedback=feedback, by=by)

    soon, overdue = today + dt.timedelta(days=10), today - dt.timedelta(days=3)
    # plan: an account plan being written this month
    if accounts and (p := plan(accounts[0], f"{_name(accounts[0])}：年度深耕计划", rep)):
        cycle(p, this_month, [("signed_value", "500000"), ("visits", "6")],
              [("梳理客户组织架构和决策链", rep, soon, False), ("约见信息中心主任", rep, soon, False)], rep)
    # do: an opportunity being won, with actions done, open and overdue
    seller = opportunity.owner if opportunity else None
    if opportunity and (p := plan(opportunity, f"{opportunity.name}：赢单推进", seller)):
        c = cycle(p, this_month, [("won_value", str(max(opportunity.amount, D("100000")))), ("visits", "3")],
                  [("完成技术方案交流", seller, today - dt.timedelta(days=5), True),
                   ("提交商务报价", seller, overdue, False), ("安排高层拜访", seller.manager or seller, soon, False)],
                  seller)
        step(c, "do", by=seller)
    # check: a team's visits last month, plan versus actual taken
    if p := plan(team, f"{team.name}：拜访量提升", manager):
        c = cycle(p, last_month, [("visits", "40"), ("won_value", "800000")],
                  [("每周例会复盘拜访计划", manager, last_month[1], True),
                   ("新人陪访", manager, last_month[1], True)], manager)
        step(c, "check", by=manager)
    # act: a person's plan, checked, the lessons being decided
    if p := plan(rep2, f"{rep2}：个人业绩提升计划", manager):
        c = cycle(p, last_month, [("signed_value", "300000"), ("visits", "8")],
                  [("每周至少拜访两家重点客户", rep2, last_month[1], True),
                   ("学习云专线产品方案", rep2, last_month[1], False)], manager)
        step(c, "act", by=manager)
    # closed: an account's renewal, feedback recorded
    if sz_accounts and (p := plan(sz_accounts[0], f"{_name(sz_accounts[0])}：续约保障", rep_sz)):
        c = cycle(p, last_month, [("signed_value", "200000"), ("visits", "2")],
                  [("续约方案汇报", rep_sz, last_month[1], True)], rep_sz)
        step(c, "closed", feedback="续约方案获客户认可；下次提前两个月启动续约沟通。", by=rep_sz)
    # a second cycle opened after the first one's feedback
    if p := plan(branch_sz, f"{branch_sz.name}：回款攻坚", head_sz):
        c = cycle(p, two_ago, [("collected_cash", "2000000")],
                  [("逐户核对逾期应收", head_sz, two_ago[1], True)], head_sz)
        step(c, "closed", feedback="大额逾期集中在三家客户，下周期由客户经理逐户上门催收，每周通报。", by=head_sz)
        c2 = cycle(p, (two_ago[1] + dt.timedelta(days=1), this_month[1]),
                   [("collected_cash", "2500000"), ("billed_revenue", "3000000")],
                   [("三家重点逾期客户上门催收", rep_sz, soon, False), ("每周通报回款进度", head_sz, overdue, False)],
                   head_sz)
        step(c2, "do", by=head_sz)
    return made[0], made[1]


# ---- weekly plans and reports ---------------------------------------------------------------------------

def _items(person: User, accounts: list[Account], opportunity: Opportunity | None, week_index: int) -> list[dict]:
    items = []
    for account in accounts[week_index % max(len(accounts), 1):][:2] or accounts[:2]:
        items.append({"kind": WeeklyItemKind.VISIT, "title": f"拜访{_name(account)}，了解年度信息化预算",
                      "account": account})
    if opportunity is not None:
        items.append({"kind": WeeklyItemKind.OPPORTUNITY, "title": f"推进“{opportunity.name}”到下一阶段",
                      "opportunity": opportunity})
    while len(items) < 3:
        items.append({"kind": WeeklyItemKind.CALL if len(items) % 2 else WeeklyItemKind.OTHER,
                      "title": ["电话回访老客户", "整理客户资料和联系人", "准备季度经营分析"][len(items)]})
    return items


def _state(index: int, week_index: int, people: int) -> str:
    """What came of one person's week: week_index 0 is three weeks ago, 2 is last week."""
    if week_index == 2 and index == people - 1:
        return "missing"
    if week_index == 0:
        return "reviewed"
    if week_index == 1:
        return "reviewed" if index % 2 == 0 else "submitted"
    return ("reviewed", "submitted", "submitted", "shared")[index % 4]


def _build_weeks(seed: int, today: dt.date) -> tuple[int, int]:
    rnd = seeded_random(seed, "poa-weekly")
    people = list(User.objects.filter(role__in=selectors.SALES_ROLES, is_active=True, unit__isnull=False)
                  .select_related("manager").order_by("username"))
    made = reviewed = 0
    for week_index in range(WEEKS):
        year, week = selectors.week_of(today - dt.timedelta(weeks=WEEKS - week_index))
        start = selectors.week_start(year, week)
        for index, person in enumerate(people):
            # Drawn for every person and week, built or not, so one missing week does not shift the rest.
            draws = [rnd.random() for _ in range(3)]
            notes = [rnd.choice(NOT_DONE_NOTES), rnd.choice(DONE_NOTES), rnd.choice(DONE_NOTES)]
            focus, review = rnd.choice(FOCUS), rnd.choice(REVIEWS)
            state = _state(index, week_index, len(people))
            if state == "missing" or selectors.weekly_for(person=person, year=year, week=week) is not None:
                continue
            weekly = services.weekly_create(person=person, year=year, week=week, by=person, today=today)
            made += 1
            for item in _items(person, _accounts(person, 4), _open_opportunity(person), week_index):
                services.weekly_item_add(weekly=weekly, by=person, **item)
            services.weekly_plan_submit(weekly=weekly, by=person, at=at(start, 9))
            if state == "shared":
                continue
            items = list(weekly.items.order_by("position", "id"))
            outcomes = {}
            for i, (item, draw) in enumerate(zip(items, draws, strict=False)):
                done = draw < 0.7
                outcomes[item.pk] = (done, notes[i] if not done else notes[(i % 2) + 1])
            figures = selectors.week_figures(person_ids=[person.pk], start=start)[person.pk]
            summary = (f"本周拜访客户{figures.visits}次，完成任务{figures.tasks}项，推进商机{figures.moved}个，"
                       f"赢单{figures.won}个（¥{figures.won_amount:,.2f}）；计划事项完成"
                       f"{sum(1 for done, _ in outcomes.values() if done)}/{len(items)}项。")
            services.weekly_report_save(weekly=weekly, outcomes=outcomes, summary=summary, next_focus=focus,
                                        submit=True, by=person, today=today, at=at(start + dt.timedelta(days=4), 18))
            if state == "reviewed" and person.manager is not None and selectors.may_review(person.manager, weekly):
                services.weekly_review(weekly=weekly, comment=review, by=person.manager,
                                       at=min(at(start + dt.timedelta(days=7), 10), timezone.now()))
                reviewed += 1
    return made, reviewed
