"""Demo data, part 1: the organisation of a provincial telecom branch and its people.

`kamcrm demo` calls `build_org()` and then `kamcrm.customers.demo.build_customers()`.

How the demo is built (both parts follow it):
- Planned first, written second. A plan is computed in memory from generators seeded with
  `--seed` and nothing else, so two fresh builds produce the same rows.
- Written with bulk_create, in batches, inside one transaction per stage. Rows that already exist
  are left alone: units by code, users by username, sharing rules by name, everything else by
  (source_system="demo", external_id) or its natural key. A second run writes nothing.
- The invariants the services keep are kept by hand, because bulk_create skips `save()` and the
  audit signals: OrgUnit.path/depth as `org_unit_create` computes them, one audit "create" entry
  (channel and job id from `core.context`) per created record as the audit receiver writes it,
  and the "record created" timeline entry for models audited with timeline=True.

This module also holds the helpers both parts share (seeded generators, names, audit rows).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from faker import Faker

from kamcrm.audit import registry
from kamcrm.audit.models import ChangeAction, ObjectChange, TimelineEvent
from kamcrm.core import context
from kamcrm.org.choices import Access, Role, UnitKind
from kamcrm.org.models import OrgUnit, SharingRule, User

SOURCE = "demo"
DEMO_PASSWORD = "kamcrm-demo"
DEFAULT_SEED = 2026
BATCH = 500

Progress = Callable[[str], None]


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------

def seeded_random(seed: int, stage: str) -> random.Random:
    """One generator per stage, so a change in one stage does not shift the others."""
    return random.Random(f"kamcrm-demo:{seed}:{stage}")


def seeded_faker(seed: int, stage: str) -> Faker:
    fake = Faker("zh_CN")
    fake.seed_instance(int(hashlib.sha256(f"kamcrm-demo:{seed}:{stage}".encode()).hexdigest()[:12], 16))
    return fake


# Pinyin for the commoner surnames and for every given name Faker zh_CN draws, for e-mail addresses.
SURNAME_PINYIN = dict(zip(
    "王李张刘陈杨黄吴赵周徐孙马朱胡林郭何高罗郑梁谢宋唐许邓冯韩曹曾彭萧蔡潘田董袁余叶蒋杜苏魏程吕丁沈任姚卢傅钟姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江阎薛尹段雷黎史龙陶贺顾毛郝龚邵万钱严赖洪武莫孔",
    ("wang li zhang liu chen yang huang wu zhao zhou xu sun ma zhu hu lin guo he gao luo zheng liang xie song "
     "tang xu deng feng han cao zeng peng xiao cai pan tian dong yuan yu ye jiang du su wei cheng lv ding shen "
     "ren yao lu fu zhong jiang cui tan liao fan wang lu jin shi dai jia wei xia qiu fang hou zou xiong meng "
     "qin bai jiang yan xue yin duan lei li shi long tao he gu mao hao gong shao wan qian yan lai hong wu mo "
     "kong").split(),
    strict=True,
))
GIVEN_PINYIN = {
    "伟": "wei", "强": "qiang", "磊": "lei", "洋": "yang", "勇": "yong", "军": "jun", "杰": "jie", "涛": "tao",
    "超": "chao", "明": "ming", "刚": "gang", "平": "ping", "辉": "hui", "鹏": "peng", "华": "hua", "飞": "fei",
    "鑫": "xin", "波": "bo", "斌": "bin", "宇": "yu", "浩": "hao", "凯": "kai", "健": "jian", "俊": "jun",
    "帆": "fan", "帅": "shuai", "旭": "xu", "宁": "ning", "龙": "long", "林": "lin", "欢": "huan", "佳": "jia",
    "阳": "yang", "建华": "jianhua", "亮": "liang", "成": "cheng", "建": "jian", "峰": "feng", "建国": "jianguo",
    "建军": "jianjun", "晨": "chen", "瑞": "rui", "志强": "zhiqiang", "兵": "bing", "雷": "lei", "东": "dong",
    "博": "bo", "彬": "bin", "坤": "kun", "想": "xiang", "岩": "yan", "杨": "yang", "文": "wen", "利": "li",
    "楠": "nan", "红霞": "hongxia", "建平": "jianping", "芳": "fang", "娜": "na", "敏": "min", "静": "jing",
    "秀英": "xiuying", "丽": "li", "艳": "yan", "娟": "juan", "霞": "xia", "秀兰": "xiulan", "燕": "yan",
    "玲": "ling", "桂英": "guiying", "丹": "dan", "萍": "ping", "红": "hong", "玉兰": "yulan", "桂兰": "guilan",
    "英": "ying", "梅": "mei", "莉": "li", "秀珍": "xiuzhen", "婷": "ting", "玉梅": "yumei", "玉珍": "yuzhen",
    "凤英": "fengying", "晶": "jing", "玉英": "yuying", "颖": "ying", "雪": "xue", "慧": "hui", "红梅": "hongmei",
    "倩": "qian", "琴": "qin", "兰英": "lanying", "畅": "chang", "云": "yun", "洁": "jie", "柳": "liu",
    "淑珍": "shuzhen", "春梅": "chunmei", "海燕": "haiyan", "冬梅": "dongmei", "秀荣": "xiurong", "桂珍": "guizhen",
    "莹": "ying", "秀云": "xiuyun", "桂荣": "guirong", "秀梅": "xiumei", "丽娟": "lijuan", "婷婷": "tingting",
    "玉华": "yuhua", "琳": "lin", "雪梅": "xuemei", "淑兰": "shulan", "丽丽": "lili", "玉": "yu", "秀芳": "xiufang",
    "欣": "xin", "淑英": "shuying", "桂芳": "guifang", "丽华": "lihua", "丹丹": "dandan", "桂香": "guixiang",
    "淑华": "shuhua", "荣": "rong", "秀华": "xiuhua", "桂芝": "guizhi", "小红": "xiaohong", "金凤": "jinfeng",
    "瑜": "yu", "桂花": "guihua", "璐": "lu", "凤兰": "fenglan",
}


@dataclass(frozen=True)
class PersonName:
    surname: str
    given: str
    pinyin: str  # "zhangwei"; the surname alone when the given name has no entry above

    @property
    def full(self) -> str:
        return self.surname + self.given


def person_name(fake: Faker) -> PersonName:
    """A Chinese name from Faker zh_CN; surnames are redrawn until one has a pinyin spelling."""
    surname = fake.last_name()
    while surname not in SURNAME_PINYIN:
        surname = fake.last_name()
    given = fake.first_name()
    return PersonName(surname, given, SURNAME_PINYIN[surname] + GIVEN_PINYIN.get(given, ""))


MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
                   "155", "156", "157", "158", "159", "166", "176", "177", "180", "181", "182", "183", "185",
                   "186", "187", "188", "189", "198", "199"]


def mobile(rnd: random.Random) -> str:
    return rnd.choice(MOBILE_PREFIXES) + f"{rnd.randrange(10**8):08d}"


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """An aware datetime on `day` in the project's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def demo_password_hash(seed: int) -> str:
    """One hash (fixed salt derived from the seed) for every demo user: hashing once keeps the build
    fast, and a fixed salt keeps two builds identical. Demo passwords are public anyway."""
    salt = hashlib.sha256(f"kamcrm-demo-salt:{seed}".encode()).hexdigest()[:24]
    return make_password(DEMO_PASSWORD, salt=salt)


def bulk_insert(model: type[models.Model], objs: list[models.Model]) -> list[models.Model]:
    """bulk_create in batches; the primary keys come back on SQLite and PostgreSQL alike."""
    if objs:
        model.objects.bulk_create(objs, batch_size=BATCH)
    return objs


def _account_id(instance: models.Model) -> int | None:
    path = getattr(type(instance), "ACCOUNT_PATH", None)
    if path is None:
        return None
    if path == "":
        return instance.pk
    return getattr(instance, path.rstrip("_") + "_id", None)


def audit_created(instances: Iterable[models.Model], *, occurred_at: Callable[[Any], dt.datetime] | None = None) -> int:
    """Write, in bulk, what the audit receiver writes when each of `instances` is created.

    The row shape (changes as {field: [None, value]}, object_repr, account id, channel, request and
    job id from the running change context) is the receiver's; see kamcrm/audit/registry.py. For
    models audited with timeline=True the "record created" timeline entry is written too, dated by
    `occurred_at(instance)` (when the demo says the record was created) instead of the build time.
    `record_bulk()` does the same one row at a time; this is the batched version the demo needs.
    """
    instances = list(instances)
    if not instances:
        return 0
    model = type(instances[0])
    ctx = context.current()
    actor = ctx.current_actor()
    actor_id = actor.pk if actor is not None and actor.pk else None
    actor_name = str(actor) if actor is not None else ""
    ct = ContentType.objects.get_for_model(model)
    timeline = registry._REGISTRY.get(model, {}).get("timeline", False)  # set by register(..., timeline=True)
    changes_rows, events = [], []
    now = timezone.now()
    for obj in instances:
        changes = {k: [None, v] for k, v in registry.snapshot(obj).items() if v not in (None, "", [], {})}
        account_id = _account_id(obj)
        changes_rows.append(ObjectChange(
            actor_id=actor_id, actor_name=actor_name, channel=ctx.channel, request_id=ctx.request_id,
            job_id=ctx.job_id, content_type=ct, object_id=obj.pk, object_repr=str(obj)[:200],
            action=ChangeAction.CREATE, changes=changes, account_id=account_id,
        ))
        if timeline and account_id:
            events.append(TimelineEvent(
                account_id=account_id, occurred_at=occurred_at(obj) if occurred_at else now,
                kind="record_created", summary=f"{model._meta.verbose_name}: {str(obj)[:200]}",
                actor_id=actor_id, content_type=ct, object_id=obj.pk,
                data={"changes": changes, "action": ChangeAction.CREATE.value},
            ))
    bulk_insert(ObjectChange, changes_rows)
    bulk_insert(TimelineEvent, events)
    return len(changes_rows)


@dataclass
class StageReport:
    name: str
    created: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        made = ", ".join(f"{k} {v:,}" for k, v in self.created.items() if v) or "nothing new"
        return f"{self.name:<14} {made} ({self.seconds:.1f} s)"


class timed_stage:
    """`with timed_stage("accounts", progress) as report:` — one transaction, timed and reported."""

    def __init__(self, name: str, progress: Progress | None):
        self.report = StageReport(name)
        self.progress = progress

    def __enter__(self) -> StageReport:
        self._start = time.perf_counter()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        return self.report

    def __exit__(self, exc_type, exc, tb):
        result = self._atomic.__exit__(exc_type, exc, tb)
        self.report.seconds = time.perf_counter() - self._start
        if exc_type is None and self.progress:
            self.progress(self.report.line())
        return result


# ---------------------------------------------------------------------------------------------
# The plan of the organisation (fixed: no randomness but the people's names)
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Region:
    key: str  # "nj"
    name: str  # "南京"
    pinyin: str
    area_code: str
    share: float  # share of the accounts
    districts: tuple[tuple[str, str], ...]  # (name, administrative division code)
    streets: tuple[str, ...]
    reps: tuple[int, int]  # account managers in team 1 and team 2

    @property
    def code(self) -> str:
        return f"JS-{self.key.upper()}"


REGIONS: tuple[Region, ...] = (
    Region("nj", "南京", "nanjing", "025", 0.34,
           (("玄武区", "320102"), ("秦淮区", "320104"), ("建邺区", "320105"), ("鼓楼区", "320106"),
            ("浦口区", "320111"), ("栖霞区", "320113"), ("雨花台区", "320114"), ("江宁区", "320115"),
            ("六合区", "320116"), ("溧水区", "320117")),
           ("中山路", "中山北路", "中山南路", "汉中路", "北京西路", "广州路", "珠江路", "龙蟠路", "江东中路",
            "应天大街", "双龙大道", "秣周东路", "天元中路", "龙眠大道", "浦珠路", "仙林大道"),
           (3, 3)),
    Region("sz", "苏州", "suzhou", "0512", 0.30,
           (("姑苏区", "320508"), ("虎丘区", "320505"), ("吴中区", "320506"), ("相城区", "320507"),
            ("吴江区", "320509"), ("常熟市", "320581"), ("张家港市", "320582"), ("昆山市", "320583"),
            ("太仓市", "320585")),
           ("干将路", "人民路", "苏州大道东", "星湖街", "金鸡湖大道", "东环路", "长江路", "狮山路", "吴中大道",
            "前进西路", "东南大道", "现代大道"),
           (2, 2)),
    Region("wx", "无锡", "wuxi", "0510", 0.20,
           (("梁溪区", "320213"), ("锡山区", "320205"), ("惠山区", "320206"), ("滨湖区", "320211"),
            ("新吴区", "320214"), ("江阴市", "320281"), ("宜兴市", "320282")),
           ("中山路", "解放南路", "太湖大道", "人民中路", "清扬路", "金融一街", "长江路", "蠡湖大道", "运河东路",
            "震泽路"),
           (2, 2)),
    Region("xz", "徐州", "xuzhou", "0516", 0.16,
           (("鼓楼区", "320302"), ("云龙区", "320303"), ("贾汪区", "320305"), ("泉山区", "320311"),
            ("铜山区", "320312"), ("沛县", "320322"), ("睢宁县", "320324"), ("新沂市", "320381"),
            ("邳州市", "320382")),
           ("淮海东路", "解放南路", "中山北路", "建国西路", "和平路", "民主南路", "彭城路", "三环东路", "徐海路",
            "金山东路"),
           (2, 2)),
)
REGION_BY_KEY = {r.key: r for r in REGIONS}

COMPANY_CODE = "JS"
BIZ, MKT, SVC, PTN, IT = "JS-BIZ", "JS-MKT", "JS-SVC", "JS-PTN", "JS-IT"


@dataclass(frozen=True)
class UnitPlan:
    code: str
    name: str
    kind: str
    parent: str | None
    head: str | None  # username


@dataclass(frozen=True)
class UserPlan:
    username: str
    role: str
    unit: str  # unit code
    manager: str | None  # username
    superuser: bool = False


def _sales_code(region: Region) -> str:
    return f"{region.code}-GE"


def team_code(region: Region, team: int) -> str:
    return f"{region.code}-GE{team}"


def rep_usernames(region: Region, team: int) -> list[str]:
    """Account managers of one team: rep_nj1..rep_nj3 in team 1, rep_nj4.. in team 2."""
    first = 1 if team == 1 else region.reps[0] + 1
    return [f"rep_{region.key}{i}" for i in range(first, first + region.reps[team - 1])]


def unit_plan() -> list[UnitPlan]:
    """Parents before children."""
    units = [
        UnitPlan(COMPANY_CODE, "华通通信江苏省分公司", UnitKind.COMPANY, None, "exec"),
        UnitPlan(BIZ, "业务管理部", UnitKind.DEPARTMENT, COMPANY_CODE, "bizmgmt"),
        UnitPlan(MKT, "市场部", UnitKind.DEPARTMENT, COMPANY_CODE, "marketing"),
        UnitPlan(SVC, "客户服务中心", UnitKind.DEPARTMENT, COMPANY_CODE, "service"),
        UnitPlan(PTN, "合作伙伴", UnitKind.DEPARTMENT, COMPANY_CODE, "partner"),
        UnitPlan(IT, "信息技术部", UnitKind.DEPARTMENT, COMPANY_CODE, "admin"),
    ]
    for r in REGIONS:
        units.append(UnitPlan(r.code, f"{r.name}分公司", UnitKind.BRANCH, COMPANY_CODE, f"head_{r.key}"))
    for r in REGIONS:
        units.append(UnitPlan(_sales_code(r), f"{r.name}政企客户部", UnitKind.DEPARTMENT, r.code, f"head_{r.key}"))
    for r in REGIONS:
        for team, label in ((1, "一"), (2, "二")):
            units.append(UnitPlan(team_code(r, team), f"{r.name}政企{label}组", UnitKind.TEAM, _sales_code(r),
                                  f"manager_{r.key}{team}"))
    return units


def user_plan() -> list[UserPlan]:
    """Managers before the people who report to them."""
    users = [
        UserPlan("exec", Role.EXECUTIVE, COMPANY_CODE, None),
        UserPlan("exec2", Role.EXECUTIVE, COMPANY_CODE, "exec"),
        UserPlan("admin", Role.ADMINISTRATOR, IT, "exec", superuser=True),
        UserPlan("admin2", Role.ADMINISTRATOR, IT, "admin"),
        UserPlan("bizmgmt", Role.BUSINESS_MANAGEMENT, BIZ, "exec2"),
        UserPlan("bizmgmt2", Role.BUSINESS_MANAGEMENT, BIZ, "bizmgmt"),
        UserPlan("marketing", Role.MARKETING, MKT, "exec2"),
        UserPlan("marketing2", Role.MARKETING, MKT, "marketing"),
        UserPlan("marketing3", Role.MARKETING, MKT, "marketing"),
        UserPlan("service", Role.SERVICE, SVC, "exec2"),
        UserPlan("service2", Role.SERVICE, SVC, "service"),
        UserPlan("service3", Role.SERVICE, SVC, "service"),
        UserPlan("partner", Role.PARTNER_USER, PTN, "bizmgmt"),
        UserPlan("partner2", Role.PARTNER_USER, PTN, "partner"),
    ]
    for r in REGIONS:
        users.append(UserPlan(f"head_{r.key}", Role.DEPARTMENT_HEAD, _sales_code(r), "exec2"))
        for team in (1, 2):
            manager = f"manager_{r.key}{team}"
            users.append(UserPlan(manager, Role.SALES_MANAGER, team_code(r, team), f"head_{r.key}"))
            users += [UserPlan(u, Role.ACCOUNT_MANAGER, team_code(r, team), manager) for u in rep_usernames(r, team)]
    return users


@dataclass(frozen=True)
class RulePlan:
    name: str
    source: str  # unit codes
    target: str
    access: str


def rule_plan() -> list[RulePlan]:
    rules = [RulePlan(f"{r.name}分公司客户共享业务管理部", r.code, BIZ, Access.READ) for r in REGIONS]
    rules.append(RulePlan("南京分公司客户共享市场部", "JS-NJ", MKT, Access.READ))
    rules.append(RulePlan("苏州分公司客户共享客户服务中心", "JS-SZ", SVC, Access.READ))
    return rules


# The fixed logins printed after every run: one per role at least.
DEMO_LOGINS = ["admin", "exec", "bizmgmt", "head_nj", "manager_nj1", "rep_nj1", "marketing", "service", "partner"]

# Partner users come from partner firms; their display names say which.
PARTNER_FIRMS = {"partner": "江苏云帆信息技术有限公司", "partner2": "南京思创网络工程有限公司"}


def user_rows(seed: int) -> list[dict[str, Any]]:
    """The people with their names: pure, so the same seed gives the same people."""
    fake = seeded_faker(seed, "org")
    rnd = seeded_random(seed, "org")
    rows, seen = [], set()
    for plan in user_plan():
        name = person_name(fake)
        display = name.full
        if plan.username in PARTNER_FIRMS:
            display = f"{name.full}（{PARTNER_FIRMS[plan.username]}）"
        local = name.pinyin
        while local in seen:
            local = f"{name.pinyin}{rnd.randrange(2, 100)}"
        seen.add(local)
        rows.append({
            "plan": plan, "display_name": display, "last_name": name.surname, "first_name": name.given,
            "email": f"{local}@js.huatong-demo.cn", "phone": mobile(rnd),
        })
    return rows


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------

def build_org(*, seed: int = DEFAULT_SEED, progress: Progress | None = None) -> StageReport:
    """Create the units, people and sharing rules that do not exist yet (one transaction)."""
    with timed_stage("organisation", progress) as report:
        new_units = _create_units()
        units = {u.code: u for u in OrgUnit.objects.filter(code__in=[p.code for p in unit_plan()])}
        new_users = _create_users(seed, units)
        users = {u.username: u for u in User.objects.filter(username__in=[p.username for p in user_plan()])}
        heads = {p.code: p.head for p in unit_plan()}
        for unit in new_units:
            head = users.get(heads[unit.code])
            unit.head_id = head.pk if head else None
        OrgUnit.objects.bulk_update(new_units, ["head"], batch_size=BATCH)
        new_rules = _create_rules(units)
        audit_created(new_units)
        audit_created(new_users)
        audit_created(new_rules)
        report.created = {"units": len(new_units), "users": len(new_users), "sharing rules": len(new_rules)}
    return report


def _create_units() -> list[OrgUnit]:
    plans = unit_plan()
    existing = {u.code: u for u in OrgUnit.objects.filter(code__in=[p.code for p in plans])}
    created: list[OrgUnit] = []
    # One bulk insert per level of the tree: a unit's path needs its parent's path and its own id.
    depths = {p.code: _plan_depth(p, plans) for p in plans}
    for depth in range(max(depths.values()) + 1):
        level = [p for p in plans if depths[p.code] == depth and p.code not in existing]
        if not level:
            continue
        units = [OrgUnit(name=p.name, code=p.code, kind=p.kind, parent=existing.get(p.parent) if p.parent else None,
                         source_system=SOURCE, external_id=p.code) for p in level]
        bulk_insert(OrgUnit, units)
        for unit in units:  # as org_unit_create computes them
            unit.path = f"{unit.parent.path if unit.parent_id else ''}{unit.pk:06d}."
            unit.depth = unit.path.count(".") - 1
            existing[unit.code] = unit
        OrgUnit.objects.bulk_update(units, ["path", "depth"], batch_size=BATCH)
        created += units
    return created


def _plan_depth(plan: UnitPlan, plans: list[UnitPlan]) -> int:
    by_code = {p.code: p for p in plans}
    depth = 0
    while plan.parent:
        plan = by_code[plan.parent]
        depth += 1
    return depth


def _create_users(seed: int, units: dict[str, OrgUnit]) -> list[User]:
    rows = user_rows(seed)
    existing = set(User.objects.filter(username__in=[r["plan"].username for r in rows]).values_list("username", flat=True))
    password = demo_password_hash(seed) if existing != {r["plan"].username for r in rows} else ""
    new: list[User] = []
    for row in rows:
        plan: UserPlan = row.pop("plan")
        if plan.username in existing:
            continue
        new.append(User(
            username=plan.username, password=password, role=plan.role, unit=units[plan.unit],
            is_staff=plan.superuser or plan.role == Role.ADMINISTRATOR, is_superuser=plan.superuser,
            preferred_language="zh-hans", source_system=SOURCE, external_id=plan.username, **row,
        ))
    bulk_insert(User, new)
    by_name = {u.username: u for u in User.objects.filter(username__in=[p.username for p in user_plan()])}
    managers = {p.username: p.manager for p in user_plan()}
    for user in new:
        manager = by_name.get(managers[user.username] or "")
        user.manager_id = manager.pk if manager else None
    User.objects.bulk_update(new, ["manager"], batch_size=BATCH)
    return new


def _create_rules(units: dict[str, OrgUnit]) -> list[SharingRule]:
    plans = rule_plan()
    existing = set(SharingRule.objects.filter(name__in=[p.name for p in plans]).values_list("name", flat=True))
    rules = [SharingRule(name=p.name, source_unit=units[p.source], target_unit=units[p.target], access=p.access)
             for p in plans if p.name not in existing]
    return bulk_insert(SharingRule, rules)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    unit: str
    password: str


def demo_logins() -> list[DemoLogin]:
    """The fixed demo logins as they stand in the database (a login someone else created keeps its password)."""
    users = {u.username: u for u in User.objects.filter(username__in=DEMO_LOGINS).select_related("unit")}
    rows = []
    for username in DEMO_LOGINS:
        user = users.get(username)
        if user is None:
            rows.append(DemoLogin(username, "-", "-", "(missing)"))
            continue
        password = DEMO_PASSWORD if user.source_system == SOURCE else "(not a demo user: unchanged)"
        rows.append(DemoLogin(username, str(Role(user.role).label), user.unit.name if user.unit else "-", password))
    return rows


def today_local() -> dt.date:
    """The day the demo's dates count back from (events are dated before it)."""
    return timezone.localdate() if settings.USE_TZ else dt.date.today()
