"""The scale data set: plan and build, deterministic from a seed.

At scale S (S=1 is the issue's "million-account" set):

| table | rows |
|---|---|
| people (org.User) | max(60, 300·S), four-level tree: company → branches → departments → teams |
| accounts | 1,000,000·S; ~3 % group parents with 2–12 subsidiaries each |
| contacts | 5,000,000·S |
| opportunities | 1,000,000·S over every stage, 1–2 product lines each, 2–5 stage-history rows each |
| timeline events | 10,000,000·S: one "stage_change" per history row, the rest logged activities |
| product lines / products / plan | the demo catalogue (reused when products exist), plan per branch |

Skews (scaled, with floors): one account with max(50, 50,000·S) contacts and max(200, 200,000·S)
activities (external id "skew-account"); one account manager (`scale_rep0001`) owning
max(50, 100,000·S) accounts.

Invariants kept by hand (the services are bypassed for speed): OrgUnit.path/depth as org_unit_create
computes them; owner_unit = owner's unit on accounts, opportunities and stage history; unique credit
codes with a valid GB 32100 check character (derived from the account id, so a second run with --force
cannot collide with the first); an opportunity's amount = the sum of its lines, its stage = the last
history row's stage, stage_entered_at = that row's time, seconds_in_stage on every completed stay.

Not generated (yet): audit rows (ObjectChange), Interaction rows behind the activity timeline entries
(they carry no content type), account teams, and the later issues' agreements, invoices/payments and
targets. Each is one more step in STEPS: a function (Context) -> None that writes through
`ctx.loader.table(...)`. Every step draws from its own seeded generator, so adding one does not
change the rows of the others.
"""
from __future__ import annotations

import calendar
import datetime as dt
import itertools
import json
import random
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from kamcrm.audit.models import TimelineEvent
from kamcrm.core.validators import CREDIT_CODE_ALPHABET, credit_code_check_char
from kamcrm.customers import search
from kamcrm.customers.choices import AccountStatus, Channel, DecisionRole, Industry, InteractionKind, Tier
from kamcrm.customers.demo import BRAND_BLOCKED, BRAND_FIRST, BRAND_SECOND, PRODUCT_WORDS, SUBJECTS
from kamcrm.customers.models import Account, Contact
from kamcrm.org.choices import Role, UnitKind
from kamcrm.org.demo import GIVEN_PINYIN, MOBILE_PREFIXES, SURNAME_PINYIN, demo_password_hash
from kamcrm.org.models import OrgUnit, User
from kamcrm.products.choices import PlanPriority, ProductStatus
from kamcrm.products.demo import LINES, PRODUCTS
from kamcrm.products.models import Product, ProductLine, ProductPlan
from kamcrm.sales import rollup as funnel_rollup
from kamcrm.sales.choices import OpportunitySource, StageKind
from kamcrm.sales.demo import ABANDON_REASONS, COMPETITORS, LOST_REASONS
from kamcrm.sales.models import Opportunity, OpportunityLine, OpportunityStageChange, Stage
from kamcrm.sales.services import TIMELINE_KIND
from kamcrm.scale.loader import Loader, Progress, TableStat, analyze_after_load, restore_pending_indexes

SOURCE = "scale"
SKEW_ACCOUNT_EXT = "skew-account"
USER_PREFIX = "scale_"
UNIT_PREFIX = "SC"
DAY = 86_400
YEAR = 365 * DAY


class AlreadyLoaded(Exception):
    """The database holds accounts (refused without force) or this generator's organisation already."""


# ---------------------------------------------------------------------------------------------
# Sizes
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sizes:
    scale: float
    users: int
    accounts: int
    contacts: int
    timeline: int
    opportunities: int
    skew_contacts: int
    skew_activities: int
    skew_owner_accounts: int
    flat: bool = False  # the peer-comparison shape: see sizes_for

    def as_dict(self) -> dict:
        return dict(self.__dict__)


# The flat shape's rows per account: what the peer CRMs were measured on (issue 7's 100k row).
FLAT_CONTACTS, FLAT_OPPORTUNITIES = 1, 3


def sizes_for(scale: float, *, flat: bool = False) -> Sizes:
    """The data set at `scale`. flat=True is the shape the peer CRMs were measured on: every account with
    exactly one contact and three opportunities, no skews and no logged activities (the timeline holds
    only the opportunities' stage changes)."""
    if scale <= 0:
        raise ValueError("scale must be above 0")
    accounts = max(100, round(1_000_000 * scale))
    if flat:
        return Sizes(scale=scale, users=max(60, round(300 * scale)), accounts=accounts,
                     contacts=FLAT_CONTACTS * accounts, timeline=0, opportunities=FLAT_OPPORTUNITIES * accounts,
                     skew_contacts=FLAT_CONTACTS, skew_activities=0, skew_owner_accounts=0, flat=True)
    contacts = max(accounts, round(5_000_000 * scale))
    opportunities = max(20, round(1_000_000 * scale))
    timeline = max(10 * accounts, round(10_000_000 * scale))
    return Sizes(
        scale=scale,
        users=max(60, round(300 * scale)),
        accounts=accounts,
        contacts=contacts,
        timeline=timeline,
        opportunities=opportunities,
        skew_contacts=min(max(50, round(50_000 * scale)), contacts // 4),
        skew_activities=min(max(200, round(200_000 * scale)), timeline // 10),
        skew_owner_accounts=min(max(50, round(100_000 * scale)), accounts // 5),
    )


# ---------------------------------------------------------------------------------------------
# Context shared by the steps
# ---------------------------------------------------------------------------------------------

@dataclass
class Person:
    id: int
    username: str
    role: str
    unit_id: int
    branch: int  # index of the branch, -1 for head-office people


@dataclass
class Context:
    seed: int
    sizes: Sizes
    now: int  # epoch seconds: the "today" every date is relative to
    loader: Loader
    ts: Callable[[float], str]
    people: list[Person] = field(default_factory=list)
    branch_units: list[int] = field(default_factory=list)  # OrgUnit ids of the branches (account regions)
    branch_names: list[str] = field(default_factory=list)
    owners_by_branch: list[list[Person]] = field(default_factory=list)  # reps ×4 and managers ×1
    skew_owner: Person | None = None
    # Per account (index = id - account_base), filled by the accounts step.
    account_base: int = 0
    acct_owner: array = field(default_factory=lambda: array("q"))
    acct_unit: array = field(default_factory=lambda: array("q"))
    acct_tier: bytearray = field(default_factory=bytearray)  # 0 normal, 1 key, 2 strategic
    acct_short: list[str] = field(default_factory=list)
    skew_account_id: int = 0
    products: list[tuple[int, str, Decimal]] = field(default_factory=list)  # (id, name, list price) on sale
    timeline_id: int = 0  # next TimelineEvent id (two steps write that table)

    def rnd(self, step: str) -> random.Random:
        return random.Random(f"kamcrm-scale:{self.seed}:{step}")


def _date(epoch: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


def _name(rnd: random.Random, surnames: list[str], givens: list[str]) -> tuple[str, str, str]:
    s, g = rnd.choice(surnames), rnd.choice(givens)
    return s, g, SURNAME_PINYIN[s] + GIVEN_PINYIN[g]


# ---------------------------------------------------------------------------------------------
# Step 1: the organisation and its people
# ---------------------------------------------------------------------------------------------

CITIES = ["南京", "苏州", "无锡", "常州", "南通", "徐州", "扬州", "盐城", "淮安", "连云港", "镇江", "泰州", "宿迁"]
CITY_DIVISIONS = ["320100", "320500", "320200", "320400", "320600", "320300", "321000", "320900", "320800",
                  "320700", "321100", "321200", "321300"]
AREA_CODES = ["025", "0512", "0510", "0519", "0513", "0516", "0514", "0515", "0517", "0518", "0511", "0523", "0527"]
CN_NUM = "一二三四五六七八九十"
HEAD_OFFICE = [  # (code suffix, name, role)
    ("BIZ", "业务管理部", Role.BUSINESS_MANAGEMENT),
    ("MKT", "市场部", Role.MARKETING),
    ("SVC", "客户服务中心", Role.SERVICE),
    ("PTN", "合作伙伴", Role.PARTNER_USER),
    ("IT", "信息技术部", Role.ADMINISTRATOR),
]


def build_org(ctx: Context) -> None:
    n_users = ctx.sizes.users
    branches = max(2, round(n_users / 50))
    depts = 2
    teams = 3 if n_users >= 150 else 2
    staff_each = max(2, n_users // 60)
    rnd = ctx.rnd("org")
    unit_base, user_base = Loader.next_id(OrgUnit), Loader.next_id(User)
    now = ctx.ts(ctx.now - 3 * YEAR)

    units: list[list] = []  # id, name, code, kind, parent_id, path, depth

    def add_unit(name: str, code: str, kind: str, parent: list | None) -> list:
        uid = unit_base + len(units)
        path = (parent[5] if parent else "") + f"{uid:06d}."
        row = [uid, name, f"{UNIT_PREFIX}{code}", kind, parent[0] if parent else None, path, path.count(".") - 1]
        units.append(row)
        return row

    heads: dict[int, int] = {}
    users: list[tuple] = []
    surnames, givens = list(SURNAME_PINYIN), list(GIVEN_PINYIN)
    password = demo_password_hash(ctx.seed)
    seen: set[str] = set()

    def add_user(username: str, role: str, unit: list, manager: int | None, branch: int, superuser=False) -> int:
        uid = user_base + len(users)
        last, first, pinyin = _name(rnd, surnames, givens)
        local = pinyin
        while local in seen:
            local = f"{pinyin}{rnd.randrange(2, 1000)}"
        seen.add(local)
        phone = rnd.choice(MOBILE_PREFIXES) + f"{rnd.randrange(10**8):08d}"
        username = USER_PREFIX + username
        users.append((uid, password, None, superuser, username, first, last, f"{local}@scale.kamcrm.example",
                      superuser, True, now, SOURCE, "", last + first, unit[0], manager, role, phone, ""))
        ctx.people.append(Person(uid, username, role, unit[0], branch))
        return uid

    company = add_unit("华通通信江苏省分公司（规模测试）", "", UnitKind.COMPANY, None)
    exec_id = add_user("exec", Role.EXECUTIVE, company, None, -1)
    heads[company[0]] = exec_id
    for suffix, name, role in HEAD_OFFICE:
        dept = add_unit(name, f"-{suffix}", UnitKind.DEPARTMENT, company)
        first = None
        for k in range(1, staff_each + 1):
            username = "admin" if role == Role.ADMINISTRATOR and k == 1 else f"{suffix.lower()}{k}"
            uid = add_user(username, role, dept, first or exec_id, -1, superuser=username == "admin")
            first = first or uid
        heads[dept[0]] = first
    team_units: list[tuple[list, int, int]] = []  # (unit, manager id, branch)
    for b in range(branches):
        city = CITIES[b % len(CITIES)] + ("" if b < len(CITIES) else str(b // len(CITIES) + 1))
        ctx.branch_names.append(city)
        branch = add_unit(f"{city}分公司", f"-B{b + 1:02d}", UnitKind.BRANCH, company)
        ctx.branch_units.append(branch[0])
        head = add_user(f"head_b{b + 1:02d}", Role.DEPARTMENT_HEAD, branch, exec_id, b)
        heads[branch[0]] = head
        for d in range(depts):
            dept = add_unit(f"{city}政企客户{CN_NUM[d]}部", f"-B{b + 1:02d}-D{d + 1}", UnitKind.DEPARTMENT, branch)
            dhead = add_user(f"head_b{b + 1:02d}d{d + 1}", Role.DEPARTMENT_HEAD, dept, head, b)
            heads[dept[0]] = dhead
            for t in range(teams):
                team = add_unit(f"{city}政企{CN_NUM[d]}部{CN_NUM[t]}组", f"-B{b + 1:02d}-D{d + 1}-T{t + 1}",
                                UnitKind.TEAM, dept)
                manager = add_user(f"manager_b{b + 1:02d}d{d + 1}t{t + 1}", Role.SALES_MANAGER, team, dhead, b)
                heads[team[0]] = manager
                team_units.append((team, manager, b))
    reps = max(len(team_units), n_users - len(users))
    for r in range(reps):
        team, manager, b = team_units[r % len(team_units)]
        add_user(f"rep{r + 1:04d}", Role.ACCOUNT_MANAGER, team, manager, b)

    unit_writer = ctx.loader.table(OrgUnit, ["id", "name", "code", "kind", "parent_id", "path", "depth", "is_active",
                                             "created_at", "updated_at", "source_system", "external_id"],
                                   planned=len(units), label="org units")
    unit_writer.write([(*u, True, now, now, SOURCE, "") for u in units])
    user_writer = ctx.loader.table(User, ["id", "password", "last_login", "is_superuser", "username", "first_name",
                                          "last_name", "email", "is_staff", "is_active", "date_joined",
                                          "source_system", "external_id", "display_name", "unit_id", "manager_id",
                                          "role", "phone", "preferred_language"], planned=len(users), label="users")
    user_writer.write(users)
    with transaction.atomic():  # heads last: a unit's head is a person of that unit
        for unit_id, head_id in heads.items():
            OrgUnit.objects.filter(pk=unit_id).update(head_id=head_id)

    ctx.owners_by_branch = [[] for _ in range(branches)]
    for p in ctx.people:
        if p.role == Role.ACCOUNT_MANAGER:
            ctx.owners_by_branch[p.branch] += [p] * 4
        elif p.role == Role.SALES_MANAGER:
            ctx.owners_by_branch[p.branch].append(p)
    ctx.skew_owner = next(p for p in ctx.people if p.username == f"{USER_PREFIX}rep0001")


# ---------------------------------------------------------------------------------------------
# Step 2: the catalogue and the product plan
# ---------------------------------------------------------------------------------------------

def build_products(ctx: Context) -> None:
    """The demo catalogue; reused as it is when the database already has products."""
    rnd = ctx.rnd("products")
    now = ctx.ts(ctx.now - 2 * YEAR)
    lines = dict(ProductLine.objects.values_list("code", "id"))
    if not Product.objects.exists():
        line_base, product_base = Loader.next_id(ProductLine), Loader.next_id(Product)
        new_lines = [(line_base + i, code, name, desc, True, now, now, SOURCE, f"line-{code}")
                     for i, (code, name, desc) in enumerate(c for c in LINES if c[0] not in lines)]
        ctx.loader.table(ProductLine, ["id", "code", "name", "description", "is_active", "created_at", "updated_at",
                                       "source_system", "external_id"], planned=len(new_lines),
                         label="product lines").write(new_lines)
        lines.update({row[1]: row[0] for row in new_lines})
        rows = [(product_base + i, lines[line], code, name, unit, price, settings.CURRENCY, status,
                 f"{2018 + len(code) % 6}-{1 + len(name) % 12:02d}-01", None, "", now, now, SOURCE, f"product-{code}")
                for i, (code, line, name, unit, price, status) in enumerate(PRODUCTS)]
        ctx.loader.table(Product, ["id", "line_id", "code", "name", "unit", "list_price", "currency", "status",
                                   "launched_on", "end_of_sale_on", "description", "created_at", "updated_at",
                                   "source_system", "external_id"], planned=len(rows), label="products").write(rows)
    year = time.gmtime(ctx.now).tm_year
    plan_base = Loader.next_id(ProductPlan)
    plans = []
    for line_id in sorted(lines.values()):
        for region in ctx.branch_units:
            priority = rnd.choice([PlanPriority.FOCUS, PlanPriority.GROW, PlanPriority.GROW, PlanPriority.MAINTAIN])
            plans.append((plan_base + len(plans), year, line_id, region, priority,
                          f"{rnd.randrange(20, 300) * 100_000}.00", "", now, now))
    ctx.loader.table(ProductPlan, ["id", "year", "line_id", "region_id", "priority", "target_amount", "notes",
                                   "created_at", "updated_at"], planned=len(plans), label="product plan").write(plans)
    on_sale = (ProductStatus.ACTIVE, ProductStatus.RETIRING)
    ctx.products = [(pk, name, price) for pk, name, price in
                    Product.objects.filter(status__in=on_sale).order_by("code").values_list("id", "name", "list_price")]


# ---------------------------------------------------------------------------------------------
# Step 3: accounts (groups, skews)
# ---------------------------------------------------------------------------------------------

BRANDS = [f + s for f, _p in BRAND_FIRST for s, _q in BRAND_SECOND if f != s and f + s not in BRAND_BLOCKED]
INDUSTRY_WORDS = {
    Industry.GOVERNMENT: ["信息中心", "数据局", "大数据中心"], Industry.FINANCE: ["农村商业银行", "证券", "保险代理"],
    Industry.MANUFACTURING: ["精密机械", "汽车零部件", "智能装备", "新材料"], Industry.ENERGY: ["能源", "电力工程", "燃气"],
    Industry.TRANSPORT: ["物流", "运输", "供应链"], Industry.HEALTHCARE: ["医疗器械", "医药", "健康管理"],
    Industry.EDUCATION: ["教育科技", "培训"], Industry.RETAIL: ["商贸", "超市连锁", "电子商务"],
    Industry.HOSPITALITY: ["酒店管理", "餐饮管理"], Industry.INTERNET: ["网络科技", "软件", "信息技术"],
    Industry.MEDIA: ["文化传媒", "广告"], Industry.REAL_ESTATE: ["置业", "建设工程", "物业管理"], Industry.OTHER: ["实业", "服务"],
}
INDUSTRIES = list(INDUSTRY_WORDS)
INDUSTRY_CUM = list(itertools.accumulate([4, 6, 20, 4, 8, 6, 5, 12, 4, 12, 4, 8, 7]))
STATUSES = [AccountStatus.ACTIVE] * 80 + [AccountStatus.PROSPECT] * 10 + [AccountStatus.DORMANT] * 7 + \
    [AccountStatus.CLOSED] * 3
TIER_CODES = {0: Tier.NORMAL, 1: Tier.KEY, 2: Tier.STRATEGIC}
TAG_POOL = ["5G", "专线", "云服务", "IDC", "物联网", "重点关注", "续约期", "新签", "竞对渗透", "高价值"]
STREETS = ["中山路", "人民路", "解放路", "建设路", "长江路", "太湖大道", "金鸡湖大道", "江东中路", "淮海路", "新华路"]
ACCOUNT_COLUMNS = ["id", "name", "short_name", "credit_code", "industry", "tier", "status", "region_id", "parent_id",
                   "owner_id", "owner_unit_id", "tags", "address", "website", "phone", "description", "attributes",
                   "created_at", "updated_at", "source_system", "external_id"]
CODE_SPACE = 31 ** 9


def credit_code(account_id: int, division: str, seed: int) -> str:
    """A valid, unique (per account id) unified social credit code: "91" + division + 9 characters
    from a bijection of the id + the GB 32100 check character."""
    n = (account_id * 7_919 + seed * 104_729) % CODE_SPACE
    body = []
    for _k in range(9):
        n, r = divmod(n, 31)
        body.append(CREDIT_CODE_ALPHABET[r])
    first17 = "91" + division + "".join(body)
    return first17 + credit_code_check_char(first17)


def build_accounts(ctx: Context) -> None:
    sizes, rnd, ts = ctx.sizes, ctx.rnd("accounts"), ctx.ts
    base = ctx.account_base = Loader.next_id(Account)
    n = sizes.accounts
    writer = ctx.loader.table(Account, ACCOUNT_COLUMNS, planned=n, label="accounts")
    skew_owner = ctx.skew_owner
    skew_owner_from, skew_owner_to = 1, 1 + sizes.skew_owner_accounts  # account indexes owned by the skew owner
    branches = len(ctx.branch_units)
    random_, randrange, choice, choices = rnd.random, rnd.randrange, rnd.choice, rnd.choices
    owners_by_branch = ctx.owners_by_branch
    empty_json = "{}"
    batch: list[tuple] = []
    i = 0
    group = None  # (parent id, brand, branch, remaining subsidiaries)
    while i < n:
        aid = base + i
        parent_id = None
        if group and group[3] > 0:
            parent_id, brand, b, _left = group
            group = (parent_id, brand, b, _left - 1)
            city = ctx.branch_names[b]
            sub_city = ctx.branch_names[randrange(branches)]
            industry = choices(INDUSTRIES, cum_weights=INDUSTRY_CUM)[0]
            name = f"{brand}集团{sub_city}{choice(INDUSTRY_WORDS[industry])}有限公司" if random_() < 0.5 else \
                f"{brand}集团{sub_city}第{CN_NUM[_left % 10]}分公司"
            short = f"{brand}{sub_city}"
            tier = 1 if random_() < 0.3 else 0
        else:
            b = skew_owner.branch if i < skew_owner_to else randrange(branches)
            brand = choice(BRANDS)
            city = ctx.branch_names[b]
            industry = choices(INDUSTRIES, cum_weights=INDUSTRY_CUM)[0]
            if i > 0 and random_() < 0.03:  # a group parent
                group = (aid, brand, b, randrange(2, 13))
                name = f"{city}{brand}{choice(INDUSTRY_WORDS[industry])}集团有限公司"
                tier = 2 if random_() < 0.4 else 1
            else:
                group = None
                name = f"{city}{brand}{choice(INDUSTRY_WORDS[industry])}有限公司"
                r = random_()
                tier = 2 if r < 0.02 else (1 if r < 0.12 else 0)
            short = f"{city}{brand}"
        if i == 0:  # the skewed account: a strategic account of another account manager of that branch
            tier = 2
            owner = next(p for p in owners_by_branch[b] if p is not skew_owner and p.role == Role.ACCOUNT_MANAGER)
        elif skew_owner_from <= i < skew_owner_to:
            owner = skew_owner
        else:
            owner = choice(owners_by_branch[b])
        region_b = b if random_() < 0.95 else randrange(branches)  # a few served across regions
        created = ctx.now - randrange(30 * DAY, 6 * YEAR)
        updated = created + randrange(0, ctx.now - created)
        tags = json.dumps(rnd.sample(TAG_POOL, randrange(0, 3)), ensure_ascii=False)
        code = credit_code(aid, CITY_DIVISIONS[region_b % len(CITY_DIVISIONS)], ctx.seed) if random_() < 0.95 else ""
        area = AREA_CODES[region_b % len(AREA_CODES)]
        batch.append((
            aid, name, short, code, industry, TIER_CODES[tier], choice(STATUSES), ctx.branch_units[region_b],
            parent_id, owner.id, owner.unit_id, tags,
            f"{ctx.branch_names[region_b]}市{choice(STREETS)}{randrange(1, 999)}号", "", f"{area}-{randrange(10**7, 10**8)}",
            "", empty_json, ts(created), ts(updated), SOURCE, SKEW_ACCOUNT_EXT if i == 0 else "",
        ))
        ctx.acct_owner.append(owner.id)
        ctx.acct_unit.append(owner.unit_id)
        ctx.acct_tier.append(tier)
        ctx.acct_short.append(short)
        i += 1
        if len(batch) >= ctx.loader.chunk:
            writer.write(batch)
            batch = []
    writer.write(batch)
    ctx.skew_account_id = base


def _spread(ctx: Context, rnd: random.Random, total: int, skew: int) -> array:
    """How many of `total` rows each account gets: `skew` for the skewed account (index 0), the rest
    by tier (strategic 4×, key 2×) with ±50 % noise, summing exactly to `total`."""
    n = len(ctx.acct_tier)
    weights = array("d", [0.0])
    tier_w = (1.0, 2.0, 4.0)
    random_ = rnd.random
    weights.extend(tier_w[t] * (0.5 + random_()) for t in ctx.acct_tier[1:])
    rest = total - skew
    scale = rest / sum(weights)
    counts = array("q", (int(w * scale) for w in weights))
    counts[0] = skew
    left = total - sum(counts)
    for k in range(left):
        counts[1 + k % (n - 1)] += 1
    return counts


# ---------------------------------------------------------------------------------------------
# Step 4: contacts
# ---------------------------------------------------------------------------------------------

TITLES = [("总经理", "总经理办公室", DecisionRole.DECISION_MAKER), ("副总经理", "总经理办公室", DecisionRole.DECISION_MAKER),
          ("信息中心主任", "信息中心", DecisionRole.DECISION_MAKER), ("IT经理", "信息技术部", DecisionRole.INFLUENCER),
          ("网络工程师", "信息技术部", DecisionRole.USER), ("采购经理", "采购部", DecisionRole.GATEKEEPER),
          ("财务经理", "财务部", DecisionRole.INFLUENCER), ("办公室主任", "行政办公室", DecisionRole.GATEKEEPER),
          ("行政专员", "行政办公室", DecisionRole.USER), ("运维主管", "信息技术部", DecisionRole.USER)]
CHANNELS = [c for c, _label in Channel.choices]
CONTACT_COLUMNS = ["id", "account_id", "name", "title", "department", "mobile", "phone", "email", "decision_role",
                   "relationship_strength", "birthday", "preferred_channel", "is_primary", "notes", "attributes",
                   "created_at", "updated_at", "source_system", "external_id"]


def build_contacts(ctx: Context) -> None:
    sizes, rnd, ts = ctx.sizes, ctx.rnd("contacts"), ctx.ts
    if sizes.flat:
        counts = array("q", [FLAT_CONTACTS]) * len(ctx.acct_tier)
    else:
        counts = _spread(ctx, rnd, sizes.contacts, sizes.skew_contacts)
    writer = ctx.loader.table(Contact, CONTACT_COLUMNS, planned=sizes.contacts, label="contacts")
    cid = Loader.next_id(Contact)
    surnames, givens = list(SURNAME_PINYIN), list(GIVEN_PINYIN)
    choice, randrange, random_ = rnd.choice, rnd.randrange, rnd.random
    chunk = ctx.loader.chunk
    batch: list[tuple] = []
    base = ctx.account_base
    for idx, count in enumerate(counts):
        aid = base + idx
        for k in range(count):
            s, g = choice(surnames), choice(givens)
            title, dept, role = choice(TITLES)
            created = ctx.now - randrange(DAY, 5 * YEAR)
            cr = ts(created)
            birthday = f"{randrange(1960, 2000)}-{randrange(1, 13):02d}-{randrange(1, 29):02d}" if random_() < 0.3 else None
            batch.append((cid, aid, s + g, title, dept, choice(MOBILE_PREFIXES) + f"{randrange(10**8):08d}", "",
                          f"{SURNAME_PINYIN[s]}{GIVEN_PINYIN[g]}{cid}@mail.example.cn", role, randrange(1, 6),
                          birthday, choice(CHANNELS), k == 0, "", "{}", cr, cr, SOURCE, ""))
            cid += 1
            if len(batch) >= chunk:
                writer.write(batch)
                batch = []
    writer.write(batch)


# ---------------------------------------------------------------------------------------------
# Step 5: opportunities, their lines and stage history, with one timeline entry per history row
# ---------------------------------------------------------------------------------------------

STAGE_WEIGHTS = {"obtained": 8, "created": 8, "assigned": 9, "relationship": 14, "negotiation": 13, "won": 25,
                 "lost": 15, "abandoned": 8}
SOURCES = [s for s, _label in OpportunitySource.choices]
OPP_COLUMNS = ["id", "account_id", "name", "owner_id", "owner_unit_id", "stage_id", "stage_entered_at", "probability",
               "amount", "currency", "expected_close_date", "closed_on", "source", "competitor", "lost_reason",
               "description", "attributes", "created_at", "updated_at", "source_system", "external_id"]
LINE_COLUMNS = ["id", "opportunity_id", "product_id", "quantity", "unit_price", "amount"]
HISTORY_COLUMNS = ["id", "opportunity_id", "from_stage_id", "to_stage_id", "changed_at", "changed_by_id", "amount",
                   "probability", "owner_id", "owner_unit_id", "expected_close_date", "left_at", "seconds_in_stage"]
TIMELINE_COLUMNS = ["id", "account_id", "occurred_at", "kind", "summary", "body", "actor_id", "content_type_id",
                    "object_id", "data"]


def stage_path(rnd: random.Random, open_path: list[Stage], final: Stage) -> list[Stage]:
    """2–5 stage entries ending in `final`: forwards through the open path (skipping some), except a
    deal still in the first stage, which went one step on and was sent back."""
    want = rnd.randrange(2, 6)
    if final.kind == StageKind.OPEN:
        i = open_path.index(final)
        if i == 0:
            return [open_path[0], open_path[1], open_path[0]]
        middle = sorted(rnd.sample(range(1, i), min(want - 2, i - 1))) if want > 2 else []
        return [open_path[0], *(open_path[m] for m in middle), final]
    reached = open_path[1:] if final.kind == StageKind.WON else open_path[1:rnd.randrange(1, len(open_path))]
    middle = sorted(rnd.sample(range(len(reached)), min(want - 2, len(reached))))
    return [open_path[0], *(reached[m] for m in middle), final]


def build_opportunities(ctx: Context) -> None:
    sizes, rnd, ts = ctx.sizes, ctx.rnd("opportunities"), ctx.ts
    stages = list(Stage.objects.filter(is_active=True).order_by("order", "id"))
    open_path = [s for s in stages if s.kind == StageKind.OPEN]
    finals = [s for s in stages if s.code in STAGE_WEIGHTS] or stages
    cum = list(itertools.accumulate(STAGE_WEIGHTS.get(s.code, 5) for s in finals))
    if len(open_path) < 2 or not ctx.products:
        raise RuntimeError("The scale generator needs at least two open stages and a product on sale.")
    labels = {s.pk: s.label for s in stages}
    created_msg = _("Opportunity “%(name)s” created in “%(stage)s”")
    moved_msg = _("Opportunity “%(name)s”: %(from)s → %(stage)s")
    ct = ContentType.objects.get_for_model(Opportunity).pk
    n = sizes.opportunities
    opp_w = ctx.loader.table(Opportunity, OPP_COLUMNS, planned=n, label="opportunities")
    line_w = ctx.loader.table(OpportunityLine, LINE_COLUMNS, planned=round(n * 1.5), label="opportunity lines")
    hist_w = ctx.loader.table(OpportunityStageChange, HISTORY_COLUMNS, planned=round(n * 3.4), label="stage history")
    event_w = ctx.loader.table(TimelineEvent, TIMELINE_COLUMNS, planned=sizes.timeline or round(n * 3.4),
                               label="timeline events")
    oid, lid, hid = Loader.next_id(Opportunity), Loader.next_id(OpportunityLine), Loader.next_id(OpportunityStageChange)
    ctx.timeline_id = Loader.next_id(TimelineEvent)
    randrange, choice, random_, choices = rnd.randrange, rnd.choice, rnd.random, rnd.choices
    n_accounts = len(ctx.acct_owner)
    opps, lines, history, events = [], [], [], []
    products = ctx.products
    for k in range(n):
        idx = k // FLAT_OPPORTUNITIES if sizes.flat else randrange(n_accounts)
        account_id = ctx.account_base + idx
        owner, unit = ctx.acct_owner[idx], ctx.acct_unit[idx]
        final = choices(finals, cum_weights=cum)[0]
        path = stage_path(rnd, open_path, final)
        start = ctx.now - randrange(DAY, 2 * YEAR)
        times = [start]
        for _step in path[1:]:
            times.append(times[-1] + randrange(3_600, 40 * DAY))
        if times[-1] > ctx.now:  # a late start moved faster
            span, used = ctx.now - start, times[-1] - start
            times = [start + (t - start) * span // used for t in times]
            for j in range(1, len(times)):
                if times[j] <= times[j - 1]:
                    times[j] = times[j - 1] + 1
        amount = Decimal(0)
        chosen = rnd.sample(products, 1 if random_() < 0.6 else 2)
        for product_id, _product_name, price in chosen:
            qty = choice((1, 1, 2, 3, 5, 10, 20)) if price >= 1000 else choice((10, 50, 100, 200, 500))
            unit_price = (price * Decimal(randrange(75, 101)) / 100).quantize(Decimal("0.01"))
            line_amount = unit_price * qty
            amount += line_amount
            lines.append((lid, oid, product_id, f"{qty}.00", str(unit_price), str(line_amount)))
            lid += 1
        name = f"{ctx.acct_short[idx]}{chosen[0][1]}项目"
        closed = final.kind != StageKind.OPEN
        expected = _date(start + randrange(45, 200) * DAY)
        reason = ""
        if final.kind == StageKind.LOST:
            reason = choice(LOST_REASONS if final.code != "abandoned" else ABANDON_REASONS)
        amount_s = str(amount)
        entered = ts(times[-1])
        opps.append((oid, account_id, name, owner, unit, final.pk, entered, final.default_probability, amount_s,
                     settings.CURRENCY, expected, _date(times[-1]) if closed else None, choice(SOURCES),
                     choice(COMPETITORS), reason, "", "{}", ts(start), entered, SOURCE, ""))
        previous = None
        for j, stage in enumerate(path):
            when = times[j]
            left = times[j + 1] if j + 1 < len(times) else None
            history.append((hid, oid, previous.pk if previous else None, stage.pk, ts(when), owner, amount_s,
                            stage.default_probability, owner, unit, expected, ts(left) if left else None,
                            left - when if left else None))
            hid += 1
            summary = (moved_msg if previous else created_msg) % {
                "name": name, "from": labels[previous.pk] if previous else "", "stage": labels[stage.pk]}
            events.append((ctx.timeline_id, account_id, ts(when), TIMELINE_KIND, summary[:300], "", owner, ct, oid,
                           json.dumps({"from": previous.code if previous else None, "to": stage.code,
                                       "amount": amount_s, "probability": stage.default_probability})))
            ctx.timeline_id += 1
            previous = stage
        oid += 1
        if len(opps) >= ctx.loader.chunk // 4 or k == n - 1:
            # Generation time goes to opportunities; each table's write time to itself.
            opp_w.write(opps)
            for w, rows in ((line_w, lines), (hist_w, history), (event_w, events)):
                w.pause()
                w.write(rows)
            opp_w.pause()
            opps, lines, history, events = [], [], [], []


# ---------------------------------------------------------------------------------------------
# Step 6: the rest of the timeline: logged activities
# ---------------------------------------------------------------------------------------------

ACTIVITY_KINDS = [InteractionKind.CALL, InteractionKind.VISIT, InteractionKind.NOTE, InteractionKind.EMAIL,
                  InteractionKind.MEETING]
ACTIVITY_WEIGHTS = [30, 22, 18, 15, 15]


def _subjects() -> dict[str, list[str]]:
    out = {}
    for kind, patterns in SUBJECTS.items():
        out[kind] = [p.format(product=w, contact="客户联系人", pct=pct) for p in patterns for w in PRODUCT_WORDS
                     for pct in (5, 10)]
    return out


def build_activities(ctx: Context) -> None:
    sizes, rnd, ts = ctx.sizes, ctx.rnd("activities"), ctx.ts
    if sizes.flat:  # no logged activities in the peer-comparison shape
        return
    done = ctx.loader.stats["timeline events"].rows if "timeline events" in ctx.loader.stats else 0
    total = sizes.timeline - done
    skew = min(sizes.skew_activities, total // 2)
    counts = _spread(ctx, rnd, total, skew)
    writer = ctx.loader.table(TimelineEvent, TIMELINE_COLUMNS, planned=sizes.timeline, label="timeline events")
    writer.pause()
    subjects = _subjects()
    choice, choices, randrange = rnd.choice, rnd.choices, rnd.randrange
    data = json.dumps({"contact": ""})
    batch: list[tuple] = []
    chunk = ctx.loader.chunk
    base = ctx.account_base
    acct_owner = ctx.acct_owner
    eid = ctx.timeline_id
    kinds = choices(ACTIVITY_KINDS, ACTIVITY_WEIGHTS, k=4096)
    for idx, count in enumerate(counts):
        aid, owner = base + idx, acct_owner[idx]
        for _k in range(count):
            kind = kinds[eid % 4096]
            batch.append((eid, aid, ts(ctx.now - randrange(600, 2 * YEAR)), kind, choice(subjects[kind]), "", owner,
                          None, None, data))
            eid += 1
            if len(batch) >= chunk:
                writer.write(batch)
                batch = []
    writer.write(batch)
    ctx.timeline_id = eid


# The tables whose secondary indexes are built after the load rather than during it.
BIG_TABLES = [Account, Contact, Opportunity, OpportunityLine, OpportunityStageChange, TimelineEvent]

STEPS: list[tuple[str, Callable[[Context], None]]] = [
    ("organisation", build_org),
    ("products", build_products),
    ("accounts", build_accounts),
    ("contacts", build_contacts),
    ("opportunities", build_opportunities),
    ("activities", build_activities),
    # Later issues: ("agreements", build_agreements), ("receivables", build_invoices), ("targets", build_targets)
]


# ---------------------------------------------------------------------------------------------
# The whole run
# ---------------------------------------------------------------------------------------------

@dataclass
class Result:
    sizes: Sizes
    seed: int
    vendor: str
    seconds: float
    tables: list[TableStat]
    skew_account_id: int
    skew_owner_username: str
    analyze_seconds: float = 0.0
    index_seconds: float = 0.0
    baseline: dict | None = None

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def as_dict(self) -> dict:
        return {"sizes": self.sizes.as_dict(), "seed": self.seed, "database": self.vendor,
                "seconds": round(self.seconds, 2), "rows": self.rows, "analyze_seconds": round(self.analyze_seconds, 2),
                "index_rebuild_seconds": round(self.index_seconds, 2),
                "tables": [t.as_dict() for t in self.tables], "skew_account_id": self.skew_account_id,
                "skew_owner": self.skew_owner_username, "orm_baseline": self.baseline}


def check_empty(*, force: bool) -> None:
    if OrgUnit.objects.filter(code=UNIT_PREFIX).exists():
        raise AlreadyLoaded(_("This database already holds the scale data set (unit %(code)s); use a fresh "
                              "database.") % {"code": UNIT_PREFIX})
    if not force and Account.objects.exists():
        raise AlreadyLoaded(_("This database already has accounts; use a fresh database or pass --force to add "
                              "the scale data set to them."))


def _midnight_utc(day: dt.date) -> int:
    return calendar.timegm(day.timetuple())


def generate(*, scale: float, flat: bool = False, seed: int = 1, today: dt.date | None = None, force: bool = False,
             progress: Progress | None = None, chunk: int = 50_000, analyze: bool = True,
             step_done: Callable[[str, float], None] | None = None, fk_checks: bool = True,
             defer_indexes: bool = True) -> Result:
    """Build the data set at `scale`; the same seed and `today` give the same rows on a fresh database.

    defer_indexes: drop the big tables' non-unique indexes for the load and build them once at the
    end (timed as "index rebuild"); unique indexes and primary keys stay, so invariants are enforced."""
    restore_pending_indexes()
    check_empty(force=force)
    sizes = sizes_for(scale, flat=flat)
    today = today or dt.date.today()
    loader = Loader(chunk=chunk, progress=progress, fk_checks=fk_checks)
    ctx = Context(seed=seed, sizes=sizes, now=_midnight_utc(today) + 17 * 3600, loader=loader,
                  ts=loader.ts_format())
    started = time.perf_counter()
    if not search.installed():  # a killed run left the search triggers dropped
        search.install()
        search.rebuild()
    search.suspend()  # the name search grams set-based after the load, not row by row
    loader.start()
    try:
        if defer_indexes:
            loader.defer_indexes(BIG_TABLES)
        with translation.override(settings.LANGUAGE_CODE):  # stored texts in the product's language
            for name, step in STEPS:
                t0 = time.perf_counter()
                step(ctx)
                if step_done:
                    step_done(name, time.perf_counter() - t0)
    finally:
        loader.finish()
        t0 = time.perf_counter()
        search.resume()
        search_seconds = time.perf_counter() - t0
    if step_done and loader.index_seconds:
        step_done("index rebuild", loader.index_seconds)
    if step_done:
        step_done("search index", search_seconds)
    analyze_seconds = 0.0
    if analyze:  # before the roll-up: without statistics its chunked reads seq-scan the history (25 min at S=1)
        t0 = time.perf_counter()
        analyze_after_load()
        analyze_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    funnel_rollup.rebuild()  # what the services keep for each change, built once for the bulk load
    if step_done:
        step_done("funnel roll-up", time.perf_counter() - t0)
    return Result(sizes=sizes, seed=seed, vendor=loader.vendor, seconds=time.perf_counter() - started,
                  tables=list(loader.stats.values()), skew_account_id=ctx.skew_account_id,
                  skew_owner_username=ctx.skew_owner.username if ctx.skew_owner else "",
                  analyze_seconds=analyze_seconds, index_seconds=loader.index_seconds)


# ---------------------------------------------------------------------------------------------
# The baseline: the same kind of rows through the ORM, one Model.objects.create() at a time
# ---------------------------------------------------------------------------------------------

class _Rollback(Exception):
    pass


def orm_baseline(*, rows: int = 2000, seed: int = 1) -> dict:
    """Create `rows` accounts one `Account.objects.create()` at a time (the audit receiver runs, as it
    does for any ORM write), inside one transaction that is rolled back: nothing stays behind. One
    transaction is the ORM's best case (no commit per row), so the ratio is a conservative one."""
    rnd = random.Random(f"kamcrm-scale:{seed}:baseline")
    owners = list(User.objects.filter(username__startswith=f"{USER_PREFIX}rep").order_by("pk")[:50])
    if not owners:
        raise RuntimeError("Run the generator first: the baseline needs its people.")
    regions = list(OrgUnit.objects.filter(code__startswith=f"{UNIT_PREFIX}-B", kind=UnitKind.BRANCH)
                   .order_by("code").values_list("id", flat=True))
    base = Loader.next_id(Account) + 10_000_000  # credit codes well away from the generated ones
    started = time.perf_counter()
    try:
        with transaction.atomic():
            for i in range(rows):
                owner = owners[i % len(owners)]
                region = regions[i % len(regions)]
                brand = rnd.choice(BRANDS)
                Account.objects.create(
                    name=f"{brand}{rnd.choice(INDUSTRY_WORDS[Industry.INTERNET])}有限公司", short_name=brand,
                    credit_code=credit_code(base + i, CITY_DIVISIONS[0], seed), industry=Industry.INTERNET,
                    tier=Tier.NORMAL, status=AccountStatus.ACTIVE, region_id=region, owner=owner,
                    owner_unit_id=owner.unit_id, tags=["5G"], address="南京市中山路1号", phone="025-88888888",
                    source_system=SOURCE)
            seconds = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_second": round(rows / seconds) if seconds else 0}
