"""Demo sales plans, visits and funnel health rules (with the alerts they raise), built after the
demo's opportunities. Deterministic from the seed; only what is missing is added."""
from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kamcrm.activities import services
from kamcrm.activities.models import SalesPlan, Visit
from kamcrm.customers.models import Account, Contact
from kamcrm.org.demo import DEFAULT_SEED, SOURCE, Progress, StageReport, timed_stage, today_local
from kamcrm.org.models import OrgUnit, User
from kamcrm.sales.choices import RuleKind, StageKind
from kamcrm.sales.health import funnel_health_check
from kamcrm.sales.models import FunnelRule, Opportunity

VISITORS = ["rep_nj1", "rep_nj2", "rep_sz1", "manager_nj1"]
PURPOSES = ["年度合作回顾", "5G 专网方案交流", "云专线扩容需求调研", "IDC 托管续约洽谈", "物联网卡项目启动会", "高层拜访"]
OUTCOMES = ["客户认可方案，约定下周报价", "明确了扩容时间表", "客户提出价格异议，需要再议", "确认由信息中心牵头评估"]
RULES = [
    # name, kind, params, unit code (None: the whole company), task owner
    ("全省漏斗顶部不足", RuleKind.THIN_TOP, {"k": 3, "top_stages": 2}, None, "marketing"),
    ("商机长期无跟进", RuleKind.NO_ACTIVITY, {"days": 30}, None, "bizmgmt"),
    ("阶段停留过久", RuleKind.STALE_DEALS, {"percentile": 75}, None, "bizmgmt"),
]


def _at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def build_activities(*, seed: int = DEFAULT_SEED, today: dt.date | None = None,
                     progress: Progress | None = None) -> StageReport:
    today = today or today_local()
    rng = random.Random(seed * 7 + 3)
    with timed_stage("activities", progress) as report:
        users = {u.username: u for u in User.objects.filter(username__in=[*VISITORS, "marketing", "bizmgmt"])}
        plans = visits = 0
        for username in VISITORS:
            user = users.get(username)
            if user is None:
                continue
            accounts = list(Account.objects.filter(owner=user, source_system=SOURCE).order_by("external_id")[:4])
            for index, account in enumerate(accounts):
                title = f"{account.short_name or account.name}：{rng.choice(['拓展 5G 专网', '提升云业务份额', '续约并扩容'])}"
                if not SalesPlan.objects.filter(account=account, owner=user).exists():
                    opportunity = (Opportunity.objects.filter(account=account, stage__kind=StageKind.OPEN)
                                   .order_by("id").first())
                    services.sales_plan_create(account=account, title=title, owner=user, opportunity=opportunity,
                                               deadline=today + dt.timedelta(days=30 + 15 * index),
                                               steps="摸清需求\n方案汇报\n商务报价\n签约")
                    plans += 1
                if Visit.objects.filter(account=account, owner=user).exists():
                    continue
                contacts = list(Contact.objects.filter(account=account).order_by("id")[:2])
                past = today - dt.timedelta(days=3 + 5 * index)
                visit = services.visit_plan(account=account, owner=user, starts_at=_at(past, 10), contacts=contacts,
                                            purpose=rng.choice(PURPOSES), location=account.address or "客户现场",
                                            preparation="带上成功案例和报价单")
                services.visit_record(visit=visit, outcome=rng.choice(OUTCOMES), next_step="发送方案",
                                      follow_up_on=today + dt.timedelta(days=2 + index), by=user)
                upcoming = today + dt.timedelta(days=1 + 3 * index)
                services.visit_plan(account=account, owner=user, starts_at=_at(upcoming, 14 + index % 3),
                                    contacts=contacts, purpose=rng.choice(PURPOSES),
                                    location=account.address or "客户现场", preparation="确认参会人员")
                visits += 2
        rules = 0
        for name, kind, params, unit_code, owner in RULES:
            if FunnelRule.objects.filter(name=name).exists() or owner not in users:
                continue
            unit = OrgUnit.objects.filter(code=unit_code).first() if unit_code else None
            FunnelRule.objects.create(name=name, kind=kind, params=params, unit=unit, task_owner=users[owner])
            rules += 1
        alerts = funnel_health_check(today=today)
        report.created = {"sales plans": plans, "visits": visits, "funnel rules": rules, "alerts": len(alerts)}
    return report
