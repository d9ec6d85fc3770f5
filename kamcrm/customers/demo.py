"""Demo data, part 2: the customers of the provincial branch that `kamcrm.org.demo` builds.

About two thousand Chinese enterprise accounts by industry (government bureaus, hospitals, schools,
banks, manufacturers, logistics, hotels, internet firms ...) with valid unified social credit
codes, group customers two and three levels deep, contacts, account teams across units and
regions, custom attributes, and six months of logged interactions on the timeline.

The same rules as part 1 (see the docstring of kamcrm/org/demo.py): a pure plan from seeded
generators, then bulk_create in one transaction per stage, only for rows not there yet, with the
audit entries and timeline entries the services and the audit receiver would have written.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType

from kamcrm.audit.models import TimelineEvent
from kamcrm.core.attributes import coerce_value, definitions_for
from kamcrm.core.models import AttributeDefinition, AttributeEntity, AttributeType
from kamcrm.core.validators import CREDIT_CODE_ALPHABET, credit_code_check_char
from kamcrm.customers.choices import (
    AccountStatus,
    Channel,
    DecisionRole,
    Industry,
    InteractionKind,
    TeamRole,
    Tier,
)
from kamcrm.customers.models import Account, AccountTeamMember, Contact, Interaction
from kamcrm.org.choices import Access
from kamcrm.org.demo import (
    DEFAULT_SEED,
    REGION_BY_KEY,
    REGIONS,
    SOURCE,
    Progress,
    Region,
    StageReport,
    at,
    audit_created,
    bulk_insert,
    mobile,
    person_name,
    rep_usernames,
    seeded_faker,
    seeded_random,
    timed_stage,
    today_local,
)
from kamcrm.org.models import OrgUnit, User

HISTORY_DAYS = 182  # the timeline covers the last six months

# ---------------------------------------------------------------------------------------------
# Custom attributes
# ---------------------------------------------------------------------------------------------

SEGMENTS: dict[str, list[str]] = {
    Industry.GOVERNMENT: ["党政机关", "公检法司", "政务服务"],
    Industry.FINANCE: ["银行", "保险", "证券", "其他金融"],
    Industry.HEALTHCARE: ["公立医院", "民营医院", "基层医疗"],
    Industry.EDUCATION: ["高等教育", "职业教育", "基础教育"],
    Industry.MANUFACTURING: ["装备制造", "电子信息制造", "生物医药", "新材料", "纺织服装", "食品加工"],
    Industry.TRANSPORT: ["物流快递", "交通运输"],
    Industry.ENERGY: ["电力", "燃气水务", "新能源"],
    Industry.RETAIL: ["商贸零售", "汽车销售"],
    Industry.HOSPITALITY: ["酒店住宿", "文化旅游"],
    Industry.INTERNET: ["软件与信息服务", "互联网平台"],
    Industry.MEDIA: ["广电传媒", "广告会展"],
    Industry.REAL_ESTATE: ["房地产开发", "建筑施工", "物业服务"],
}
ALL_SEGMENTS = [s for segs in SEGMENTS.values() for s in segs]
PRODUCT_CHOICES = ["专线", "5G专网", "云服务", "IDC", "物联网"]

ATTRIBUTE_PLAN: list[dict[str, Any]] = [
    {"entity": AttributeEntity.ACCOUNT, "key": "bandwidth_mbps", "label_zh": "宽带带宽需求（Mbps）",
     "label_en": "Bandwidth need (Mbps)", "type": AttributeType.NUMBER, "min_value": 0, "max_value": 100000, "order": 10},
    {"entity": AttributeEntity.ACCOUNT, "key": "is_listed", "label_zh": "是否上市", "label_en": "Listed company",
     "type": AttributeType.BOOLEAN, "order": 20},
    {"entity": AttributeEntity.ACCOUNT, "key": "sub_industry", "label_zh": "行业细分", "label_en": "Industry segment",
     "type": AttributeType.CHOICE, "choices": ALL_SEGMENTS, "order": 30},
    {"entity": AttributeEntity.ACCOUNT, "key": "products_of_interest", "label_zh": "关注产品",
     "label_en": "Products of interest", "type": AttributeType.MULTI_CHOICE, "choices": PRODUCT_CHOICES, "order": 40},
    {"entity": AttributeEntity.ACCOUNT, "key": "contract_expiry", "label_zh": "合同到期日",
     "label_en": "Contract expiry date", "type": AttributeType.DATE, "order": 50},
    {"entity": AttributeEntity.ACCOUNT, "key": "annual_budget", "label_zh": "年度通信预算（万元）",
     "label_en": "Annual telecom budget (10k CNY)", "type": AttributeType.DECIMAL, "min_value": 0, "order": 60},
    {"entity": AttributeEntity.CONTACT, "key": "hobbies", "label_zh": "兴趣爱好", "label_en": "Hobbies",
     "type": AttributeType.TEXT, "max_length": 100, "order": 10},
    {"entity": AttributeEntity.CONTACT, "key": "hometown", "label_zh": "籍贯", "label_en": "Hometown",
     "type": AttributeType.TEXT, "max_length": 50, "order": 20},
]

HOBBIES = ["钓鱼", "羽毛球", "乒乓球", "篮球", "摄影", "茶艺", "书法", "马拉松", "登山", "高尔夫", "围棋", "旅游",
           "阅读", "游泳", "骑行", "收藏", "太极拳", "自驾游"]
HOMETOWNS = ["江苏南京", "江苏苏州", "江苏无锡", "江苏徐州", "江苏常州", "江苏南通", "江苏扬州", "江苏盐城",
             "江苏淮安", "安徽合肥", "山东临沂", "浙江杭州", "河南商丘", "湖北武汉", "上海"]

# ---------------------------------------------------------------------------------------------
# Names: enterprises by industry, each with a short name, a web domain and a credit-code kind
# ---------------------------------------------------------------------------------------------

BRAND_FIRST = [("恒", "heng"), ("华", "hua"), ("金", "jin"), ("瑞", "rui"), ("宏", "hong"), ("鼎", "ding"),
               ("永", "yong"), ("嘉", "jia"), ("汇", "hui"), ("海", "hai"), ("凯", "kai"), ("天", "tian"),
               ("润", "run"), ("长", "chang"), ("卓", "zhuo"), ("明", "ming"), ("新", "xin"), ("同", "tong"),
               ("安", "an"), ("广", "guang"), ("德", "de"), ("振", "zhen"), ("星", "xing"), ("朗", "lang"),
               ("欣", "xin"), ("九", "jiu"), ("联", "lian"), ("锦", "jin"), ("伟", "wei"), ("聚", "ju"),
               ("思", "si"), ("易", "yi"), ("云", "yun"), ("智", "zhi"), ("博", "bo"), ("盛", "sheng"),
               ("远", "yuan"), ("泰", "tai"), ("苏", "su"), ("东", "dong"), ("鑫", "xin"), ("正", "zheng")]
BRAND_SECOND = [("信", "xin"), ("诚", "cheng"), ("石", "shi"), ("达", "da"), ("远", "yuan"), ("盛", "sheng"),
                ("升", "sheng"), ("禾", "he"), ("源", "yuan"), ("川", "chuan"), ("越", "yue"), ("成", "cheng"),
                ("宇", "yu"), ("泽", "ze"), ("德", "de"), ("元", "yuan"), ("创", "chuang"), ("泰", "tai"),
                ("力", "li"), ("华", "hua"), ("光", "guang"), ("辰", "chen"), ("坤", "kun"), ("旺", "wang"),
                ("程", "cheng"), ("业", "ye"), ("科", "ke"), ("帆", "fan"), ("隆", "long"), ("邦", "bang"),
                ("驰", "chi"), ("瑞", "rui"), ("通", "tong"), ("恒", "heng"), ("润", "run"), ("峰", "feng")]
# Pairs that are well-known real company names.
BRAND_BLOCKED = {"中信", "海信", "华泰", "安信", "华信", "长信", "长城", "华光", "金光", "东方", "天成", "联通",
                 "华通", "云帆", "思创", "泰达", "正泰", "德力", "明泰"}

# (word in the name, word in the short name, letters for the web domain)
PRODUCTS: dict[str, list[tuple[str, str, str]]] = {
    Industry.MANUFACTURING: [("精密机械", "精机", "jm"), ("汽车零部件", "汽配", "qp"), ("电子科技", "电子", "dz"),
                             ("新材料科技", "新材", "xc"), ("化工", "化工", "hg"), ("纺织", "纺织", "fz"),
                             ("电缆", "电缆", "dl"), ("医疗器械", "医械", "yx"), ("智能装备", "智装", "zn"),
                             ("电气", "电气", "dq"), ("制药", "制药", "pharm"), ("食品", "食品", "food"),
                             ("钢结构", "钢构", "gg"), ("环保设备", "环保", "hb"), ("光电科技", "光电", "gd"),
                             ("半导体", "半导体", "semi"), ("模具", "模具", "mj"), ("阀门", "阀门", "fm"),
                             ("服饰", "服饰", "fs")],
    Industry.TRANSPORT: [("物流", "物流", "wl"), ("运输", "运输", "ys"), ("冷链物流", "冷链", "ll"),
                         ("供应链管理", "供应链", "scm"), ("国际货运代理", "货代", "hd"), ("快递", "快递", "kd"),
                         ("客运", "客运", "ky")],
    Industry.ENERGY: [("燃气", "燃气", "gas"), ("新能源科技", "新能源", "xny"), ("热电", "热电", "rd"),
                      ("光伏科技", "光伏", "pv"), ("水务", "水务", "water"), ("电力工程", "电力", "dl")],
    Industry.RETAIL: [("商贸", "商贸", "sm"), ("百货", "百货", "bh"), ("超市连锁", "超市", "cs"),
                      ("购物中心", "商城", "mall"), ("汽车销售服务", "汽贸", "auto"), ("医药连锁", "医药", "yy"),
                      ("家电", "家电", "jd")],
    Industry.HOSPITALITY: [("大酒店", "酒店", "hotel"), ("国际饭店", "饭店", "hotel"), ("酒店管理", "酒店", "hotels"),
                           ("度假村", "度假村", "resort"), ("文化旅游发展", "文旅", "travel")],
    Industry.INTERNET: [("网络科技", "网络", "net"), ("信息技术", "信息", "it"), ("软件", "软件", "soft"),
                        ("数据科技", "数据", "data"), ("智能科技", "智能", "ai"), ("云计算", "云", "cloud"),
                        ("电子商务", "电商", "ec")],
    Industry.MEDIA: [("文化传媒", "传媒", "media"), ("广告", "广告", "ad"), ("影视传媒", "影视", "film"),
                     ("会展服务", "会展", "expo")],
    Industry.REAL_ESTATE: [("置业", "置业", "zy"), ("建设工程", "建设", "js"), ("物业管理", "物业", "wy"),
                           ("房地产开发", "地产", "dc"), ("建筑设计研究院", "设计院", "design")],
}
# Which segment each product word belongs to (default: the industry's first segment).
SEGMENT_OF = {"精密机械": "装备制造", "汽车零部件": "装备制造", "智能装备": "装备制造", "电气": "装备制造",
              "钢结构": "装备制造", "环保设备": "装备制造", "模具": "装备制造", "阀门": "装备制造",
              "电子科技": "电子信息制造", "光电科技": "电子信息制造", "半导体": "电子信息制造", "电缆": "电子信息制造",
              "医疗器械": "生物医药", "制药": "生物医药", "新材料科技": "新材料", "化工": "新材料",
              "纺织": "纺织服装", "服饰": "纺织服装", "食品": "食品加工", "客运": "交通运输",
              "燃气": "燃气水务", "水务": "燃气水务", "新能源科技": "新能源", "光伏科技": "新能源",
              "汽车销售服务": "汽车销售", "文化旅游发展": "文化旅游", "度假村": "文化旅游",
              "网络科技": "互联网平台", "电子商务": "互联网平台", "广告": "广告会展", "会展服务": "广告会展",
              "建设工程": "建筑施工", "建筑设计研究院": "建筑施工", "物业管理": "物业服务"}

# (name, short name, domain letters, credit-code prefix: 11 = government organ, 12 = public institution)
GOV_BUREAUS = [("公安局", "公安局", "gaj", "11"), ("教育局", "教育局", "jyj", "11"), ("财政局", "财政局", "czj", "11"),
               ("人力资源和社会保障局", "人社局", "rsj", "11"), ("自然资源和规划局", "资规局", "zrzy", "11"),
               ("生态环境局", "生态环境局", "sthj", "11"), ("住房和城乡建设局", "住建局", "zjj", "11"),
               ("交通运输局", "交通局", "jtj", "11"), ("水务局", "水务局", "swj", "11"),
               ("农业农村局", "农业农村局", "nync", "11"), ("商务局", "商务局", "commerce", "11"),
               ("文化广电和旅游局", "文旅局", "wlj", "11"), ("卫生健康委员会", "卫健委", "wjw", "11"),
               ("应急管理局", "应急局", "yjj", "11"), ("市场监督管理局", "市场监管局", "amr", "11"),
               ("统计局", "统计局", "tjj", "11"), ("医疗保障局", "医保局", "ybj", "11"), ("数据局", "数据局", "data", "11"),
               ("城市管理局", "城管局", "cgj", "11"), ("民政局", "民政局", "mzj", "11"), ("司法局", "司法局", "sfj", "11"),
               ("审计局", "审计局", "audit", "11"), ("退役军人事务局", "退役军人局", "tyjr", "11"),
               ("政务服务管理办公室", "政务办", "zwfw", "11"), ("发展和改革委员会", "发改委", "fgw", "11"),
               ("工业和信息化局", "工信局", "gxj", "11"), ("机关事务管理局", "机关事务局", "jgsw", "11"),
               ("大数据管理中心", "大数据中心", "dsj", "12"), ("住房公积金管理中心", "公积金中心", "gjj", "12"),
               ("12345政务服务便民热线中心", "12345热线", "12345", "12")]
DISTRICT_BUREAUS = ["教育局", "卫生健康委员会", "市场监督管理局", "住房和城乡建设局", "民政局", "城市管理局",
                    "政务服务管理办公室", "财政局", "农业农村局", "应急管理局"]
CN_NUM = "一二三四五六七八九十"
VOCATIONAL = [("信息", "xx"), ("工业", "gy"), ("交通", "jt"), ("商贸", "sm"), ("卫生", "ws"), ("旅游", "ly"),
              ("机电", "jd"), ("建筑", "jz"), ("财经", "cj"), ("农林", "nl")]


@dataclass
class Naming:
    name: str
    short: str
    industry: str
    segment: str
    domain: str  # "" when the organisation has no site of its own
    code_kind: str  # "11", "12", "52" or "91": the first two characters of the credit code
    big: bool = False  # a natural strategic/key candidate (city-level bureau, top hospital, bank branch)
    place: str = ""  # the city, put in front of a short name that is taken already


LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司")


def _base(name: str) -> str:
    """苏州正科置业股份有限公司 and 苏州正科置业有限公司 are the same company to a reader."""
    for form in LEGAL_FORMS:
        if name.endswith(form):
            return name[: -len(form)]
    return name


def _dshort(district: str) -> str:
    """鼓楼区 -> 鼓楼, 昆山市 -> 昆山, 沛县 -> 沛县 (one-character counties keep 县)."""
    return district[:-1] if len(district) > 2 and district[-1] in "区市县" else district


class Namer:
    """Draws unique enterprise names; every call returns a name not used before."""

    def __init__(self, rnd: random.Random, brands: int = 320):
        self.rnd = rnd
        self.used_names: set[str] = set()
        self.used_shorts: set[str] = set()
        # Group customers own their brand; stand-alone companies draw from the rest.
        pool = sorted({a + b: ap + bp for a, ap in BRAND_FIRST for b, bp in BRAND_SECOND
                       if a != b and a + b not in BRAND_BLOCKED}.items())
        self.brands = rnd.sample(pool, k=min(brands, len(pool)))
        self.free_brands = list(self.brands)

    def group_brand(self) -> tuple[str, str] | None:
        if len(self.free_brands) < 50:  # keep some for the stand-alone companies
            return None
        return self.free_brands.pop(self.rnd.randrange(len(self.free_brands)))

    def brand(self) -> tuple[str, str]:
        return self.rnd.choice(self.free_brands)

    def claim(self, naming: Naming) -> bool:
        """Take the name if nobody has it (nor the same company in another legal form); make its short name unique."""
        if naming.name in self.used_names or _base(naming.name) in self.used_names:
            return False
        self.used_names |= {naming.name, _base(naming.name)}
        short = naming.short
        if short in self.used_shorts and naming.place and not short.startswith(naming.place):
            short = naming.place + short
        n = 2
        while short in self.used_shorts:
            short, n = f"{naming.short}{n}", n + 1
        self.used_shorts.add(short)
        naming.short = short
        return True

    def take(self, make, tries: int = 60) -> Naming | None:
        """Call `make()` until it yields an unused name; None when the maker seems exhausted."""
        for _ in range(tries):
            naming = make()
            if self.claim(naming):
                return naming
        return None

    # --- one maker per industry; `region` and `district` place the organisation ---

    def corp(self, industry: str, region: Region, brand=None, province: bool = False) -> Naming:
        rnd = self.rnd
        b, bp = brand or self.brand()
        word, short, abbr = rnd.choice(PRODUCTS[industry])
        suffix = rnd.choices(["有限公司", "股份有限公司", "有限责任公司"], [80, 15, 5])[0]
        if word in ("大酒店", "国际饭店", "度假村") and suffix != "有限公司":
            suffix = "有限公司"
        place = "江苏" if province else region.name
        segment = SEGMENT_OF.get(word, SEGMENTS[industry][0])
        return Naming(f"{place}{b}{word}{suffix}", f"{b}{short}", industry, segment, f"{bp}{abbr}.com", "91",
                      big=province or suffix == "股份有限公司", place=region.name)

    def government(self, region: Region, district: str) -> Naming:
        rnd, city, cp = self.rnd, region.name, region.pinyin
        roll = rnd.random()
        if roll < 0.45:
            name, short, abbr, kind = rnd.choice(GOV_BUREAUS)
            return Naming(f"{city}市{name}", f"{city}{short}", Industry.GOVERNMENT,
                          "政务服务" if kind == "12" else "党政机关", f"{abbr}.{cp}.gov.cn", kind, big=True)
        if roll < 0.75:
            bureau = rnd.choice(DISTRICT_BUREAUS)
            short = next(s for n, s, _a, _k in GOV_BUREAUS if n == bureau)
            return Naming(f"{city}市{district}{bureau}", f"{_dshort(district)}{short}", Industry.GOVERNMENT,
                          "党政机关", "", "11")
        ds = _dshort(district)
        special = [
            (f"{city}市{district}人民政府", f"{ds}区政府" if district.endswith("区") else f"{district}政府", "党政机关", "11", True),
            (f"{city}市{district}人民法院", f"{ds}法院", "公检法司", "11", False),
            (f"{city}市{district}人民检察院", f"{ds}检察院", "公检法司", "11", False),
            (f"{city}市公安局{ds}分局", f"{ds}公安分局", "公检法司", "11", False),
            (f"国家税务总局{city}市{district}税务局", f"{ds}税务局", "党政机关", "11", False),
            (f"{city}市中级人民法院", f"{city}中院", "公检法司", "11", True),
            (f"{city}市人民检察院", f"{city}检察院", "公检法司", "11", True),
            (f"国家税务总局{city}市税务局", f"{city}税务局", "党政机关", "11", True),
            (f"{city}市消防救援支队", f"{city}消防支队", "公检法司", "11", True),
        ]
        name, short, segment, kind, big = rnd.choice(special)
        return Naming(name, short, Industry.GOVERNMENT, segment, f"{cp}.gov.cn" if big else "", kind, big=big)

    def healthcare(self, region: Region, district: str) -> Naming:
        rnd, city, cp = self.rnd, region.name, region.pinyin
        ds = _dshort(district)
        roll = rnd.random()
        if roll < 0.3:
            n = rnd.randrange(1, 10)
            return Naming(f"{city}市第{CN_NUM[n - 1]}人民医院", f"{city}市{CN_NUM[n - 1]}院", Industry.HEALTHCARE,
                          "公立医院", f"{cp}{n}yy.com", "12", big=True)
        if roll < 0.5:
            kind, short, abbr = rnd.choice([("中医院", "中医院", "zyy"), ("儿童医院", "儿童医院", "et"),
                                            ("妇幼保健院", "妇幼", "fy"), ("口腔医院", "口腔医院", "kq"),
                                            ("肿瘤医院", "肿瘤医院", "zl"), ("精神卫生中心", "精卫中心", "jw"),
                                            ("急救中心", "急救中心", "120"), ("疾病预防控制中心", "疾控中心", "cdc")])
            return Naming(f"{city}市{kind}", f"{city}{short}", Industry.HEALTHCARE, "公立医院", f"{cp}{abbr}.com",
                          "12", big=True)
        if roll < 0.65:
            kind = rnd.choice(["人民医院", "中医医院"])
            return Naming(f"{city}市{district}{kind}", f"{ds}{kind}", Industry.HEALTHCARE, "公立医院", "", "12")
        if roll < 0.85:
            street = rnd.choice(region.streets)
            return Naming(f"{city}市{district}{street}社区卫生服务中心", f"{street}社区医院", Industry.HEALTHCARE,
                          "基层医疗", "", "12")
        b, bp = self.brand()
        kind, short, abbr = rnd.choice([("医院有限公司", "医院", "hospital"), ("口腔门诊有限公司", "口腔", "dental"),
                                        ("医学检验实验室有限公司", "医检", "lab"), ("健康体检中心有限公司", "体检", "health")])
        return Naming(f"{city}{b}{kind}", f"{b}{short}", Industry.HEALTHCARE, "民营医院", f"{bp}{abbr}.com", "91")

    def education(self, region: Region, district: str) -> Naming:
        rnd, city, cp = self.rnd, region.name, region.pinyin
        ds = _dshort(district)
        roll = rnd.random()
        if roll < 0.2:
            subject, abbr = rnd.choice(VOCATIONAL)
            return Naming(f"{city}{subject}职业技术学院", f"{city}{subject}职院", Industry.EDUCATION, "职业教育",
                          f"{cp}{abbr}.edu.cn", "12", big=True)
        if roll < 0.3:
            kind, abbr = rnd.choice([("理工学院", "lg"), ("师范学院", "sf"), ("工程学院", "gc"), ("开放大学", "open"),
                                     ("医学院", "med"), ("城市学院", "city")])
            return Naming(f"{city}{kind}", f"{city}{kind[:2]}", Industry.EDUCATION, "高等教育",
                          f"{cp}{abbr}.edu.cn", "12", big=True)
        if roll < 0.55:
            n = rnd.randrange(1, 10)
            return Naming(f"{city}市第{CN_NUM[n - 1]}中学", f"{city}{CN_NUM[n - 1]}中", Industry.EDUCATION, "基础教育",
                          "", "12")
        if roll < 0.85:
            kind = rnd.choice(["实验小学", "高级中学", "实验初级中学", "中心幼儿园", "教师发展中心"])
            return Naming(f"{city}市{district}{kind}", f"{ds}{kind.replace('初级中学', '初中')}", Industry.EDUCATION,
                          "基础教育", "", "12")
        b, bp = self.brand()
        kind = rnd.choice(["外国语学校", "双语学校", "实验学校"])
        return Naming(f"{city}{b}{kind}", f"{b}{kind[:3]}", Industry.EDUCATION, "基础教育", f"{bp}school.cn", "52")

    def finance(self, region: Region, district: str, brand=None) -> Naming:
        rnd, city = self.rnd, region.name
        ds = _dshort(district)
        b, bp = brand or self.brand()
        street = rnd.choice(region.streets)
        options = [
            (f"{b}银行股份有限公司{city}分行", f"{b}银行{city}分行", "银行", f"{bp}bank.com", True),
            (f"{city}{ds}农村商业银行股份有限公司", f"{ds}农商行", "银行", "", True),
            (f"{b}银行股份有限公司{city}{street}支行", f"{b}银行{street}支行", "银行", f"{bp}bank.com", False),
            (f"{b}人寿保险股份有限公司{city}中心支公司", f"{b}人寿{city}", "保险", f"{bp}life.com", False),
            (f"{b}财产保险股份有限公司{city}分公司", f"{b}财险{city}", "保险", f"{bp}pic.com", False),
            (f"{b}证券股份有限公司{city}{street}证券营业部", f"{b}证券{street}", "证券", f"{bp}sec.com", False),
            (f"{city}{b}融资租赁有限公司", f"{b}租赁", "其他金融", f"{bp}leasing.com", False),
            (f"{city}{b}小额贷款股份有限公司", f"{b}小贷", "其他金融", f"{bp}credit.com", False),
        ]
        name, short, segment, domain, big = rnd.choices(options, [25, 10, 25, 12, 10, 10, 4, 4])[0]
        return Naming(name, short, Industry.FINANCE, segment, domain, "91", big=big)


# ---------------------------------------------------------------------------------------------
# Credit codes (GB 32100-2015, with the GB 11714 organisation code inside)
# ---------------------------------------------------------------------------------------------

def _org_code(rnd: random.Random, code_kind: str) -> str:
    if code_kind in ("11", "12"):
        body = "0" + "".join(rnd.choice("0123456789") for _ in range(7))
    elif rnd.random() < 0.55:  # registered since 2015: "MA" codes
        body = "MA" + "".join(rnd.choice(CREDIT_CODE_ALPHABET) for _ in range(6))
    else:
        body = "".join(rnd.choice("0123456789") for _ in range(8))
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def credit_code(rnd: random.Random, code_kind: str, division: str) -> str:
    first17 = code_kind + division + _org_code(rnd, code_kind)
    return first17 + credit_code_check_char(first17)


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------

TEAM1_INDUSTRIES = {Industry.GOVERNMENT, Industry.HEALTHCARE, Industry.EDUCATION, Industry.MEDIA, Industry.ENERGY}
STANDALONE_INDUSTRIES = {
    Industry.GOVERNMENT: 14, Industry.HEALTHCARE: 8, Industry.EDUCATION: 8, Industry.FINANCE: 10,
    Industry.MANUFACTURING: 22, Industry.TRANSPORT: 8, Industry.ENERGY: 4, Industry.RETAIL: 7,
    Industry.HOSPITALITY: 5, Industry.INTERNET: 8, Industry.MEDIA: 2, Industry.REAL_ESTATE: 4,
}
GROUP_INDUSTRIES = {
    Industry.MANUFACTURING: 30, Industry.TRANSPORT: 12, Industry.FINANCE: 14, Industry.ENERGY: 10,
    Industry.REAL_ESTATE: 10, Industry.RETAIL: 10, Industry.HOSPITALITY: 6, Industry.INTERNET: 8,
}
TAGS = {
    "all": ["存量保有", "新装", "续约", "专线扩容", "上云", "竞对渗透", "异网用户", "ICT项目", "5G"],
    Industry.GOVERNMENT: ["数字政府", "政务外网", "雪亮工程"],
    Industry.HEALTHCARE: ["智慧医疗", "互联网医院"],
    Industry.EDUCATION: ["智慧校园", "教育专网"],
    Industry.FINANCE: ["金融专线", "灾备"],
    Industry.MANUFACTURING: ["工业互联网", "5G工厂"],
    Industry.TRANSPORT: ["车联网", "物联网"],
    Industry.RETAIL: ["门店组网"],
    Industry.HOSPITALITY: ["酒店宽带"],
    Industry.INTERNET: ["IDC", "云资源池"],
}
BANDWIDTHS = [50, 100, 200, 300, 500, 1000, 2000, 5000, 10000]
DESCRIPTIONS = ["员工约{n}人，现有{bw}M互联网专线{k}条。", "在网{k}年的存量客户，主要使用专线和固话业务。",
                "客户正在推进数字化转型，{product}需求明确。", "同城多个办公点，需组网互联。",
                "客户对服务响应要求高，由客户服务中心重点保障。", "竞争对手为主要供应商，我方份额约{pct}%。"]


@dataclass
class AccountPlan:
    ext: str
    name: str
    short: str
    industry: str
    segment: str
    region: str  # region key
    district: str
    code_kind: str
    domain: str
    big: bool
    level: int = 0
    parent: str | None = None  # external id
    tier: str = Tier.NORMAL
    status: str = AccountStatus.ACTIVE
    owner: str = ""  # username
    credit_code: str = ""
    tags: list[str] = field(default_factory=list)
    address: str = ""
    website: str = ""
    phone: str = ""
    description: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    created_on: dt.date | None = None
    is_group_root: bool = False


@dataclass
class ContactPlan:
    ext: str
    account: str
    name: str
    surname: str
    title: str
    department: str
    mobile: str
    phone: str
    email: str
    decision_role: str
    relationship_strength: int | None
    birthday: dt.date | None
    preferred_channel: str
    is_primary: bool
    notes: str
    attributes: dict[str, Any]
    created_on: dt.date


@dataclass
class TeamPlan:
    account: str
    user: str
    team_role: str
    access: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    reason: str


@dataclass
class InteractionPlan:
    account: str
    contact: str | None
    kind: str
    subject: str
    body: str
    occurred_at: dt.datetime
    author: str


@dataclass
class CustomerPlan:
    accounts: list[AccountPlan]
    contacts: list[ContactPlan]
    team: list[TeamPlan]
    interactions: list[InteractionPlan]


def _pick(rnd: random.Random, weights: dict[str, float]) -> str:
    return rnd.choices(list(weights), list(weights.values()))[0]


def _region_weights() -> dict[str, float]:
    return {r.key: r.share for r in REGIONS}


def _owner(rnd: random.Random, region: Region, industry: str) -> str:
    """An account manager of the region's team for the industry; the first of each team owns the most."""
    team = 1 if industry in TEAM1_INDUSTRIES else 2
    reps = rep_usernames(region, team)
    return rnd.choices(reps, [3 if i == 0 else 1 for i in range(len(reps))])[0]


def plan_accounts(*, accounts: int, seed: int, today: dt.date) -> list[AccountPlan]:
    rnd = seeded_random(seed, "accounts")
    namer = Namer(rnd, brands=max(320, accounts // 6))
    plans: list[AccountPlan] = []

    def add(naming: Naming, region: Region, district: str, **extra) -> AccountPlan:
        plan = AccountPlan(ext=f"acct-{len(plans) + 1:05d}", name=naming.name, short=naming.short,
                           industry=naming.industry, segment=naming.segment, region=region.key, district=district,
                           code_kind=naming.code_kind, domain=naming.domain, big=naming.big, **extra)
        plans.append(plan)
        return plan

    # Group customers first: ~3% of the accounts are groups with 2-15 subsidiaries, some three levels deep.
    groups = round(accounts * 0.03) if accounts >= 20 else 0
    member_cap = int(accounts * 0.3)
    for _ in range(groups):
        if len(plans) + 3 > member_cap:
            break
        _plan_group(rnd, namer, add, member_cap, plans)

    # Then stand-alone accounts up to the number asked for.
    misses = 0
    while len(plans) < accounts:
        if misses > 500:
            raise ValueError(f"the demo has names for about {len(plans):,} accounts; ask for fewer")
        region = REGION_BY_KEY[_pick(rnd, _region_weights())]
        district = rnd.choice(region.districts)[0]
        industry = _pick(rnd, STANDALONE_INDUSTRIES)
        maker = {
            Industry.GOVERNMENT: lambda r=region, d=district: namer.government(r, d),
            Industry.HEALTHCARE: lambda r=region, d=district: namer.healthcare(r, d),
            Industry.EDUCATION: lambda r=region, d=district: namer.education(r, d),
            Industry.FINANCE: lambda r=region, d=district: namer.finance(r, d),
        }.get(industry, lambda r=region, i=industry: namer.corp(i, r, province=rnd.random() < 0.06))
        naming = namer.take(maker)
        if naming is None:
            misses += 1
            continue
        misses = 0
        add(naming, region, district)

    _assign_tiers(rnd, plans, accounts)
    for plan in plans:
        _fill_account(rnd, plan, today)
    return plans


def _plan_group(rnd: random.Random, namer: Namer, add, member_cap: int, plans: list[AccountPlan]) -> None:
    industry = _pick(rnd, GROUP_INDUSTRIES)
    home = REGION_BY_KEY[rnd.choices([r.key for r in REGIONS], [0.5, 0.25, 0.15, 0.1])[0]]
    home_district = rnd.choice(home.districts)[0]
    brand = namer.group_brand()
    if brand is None:
        return
    b = brand[0]
    if industry == Industry.FINANCE:
        root_naming = Naming(f"{b}银行股份有限公司", f"{b}银行", industry, "银行", f"{brand[1]}bank.com", "91", big=True)
    else:
        word = {Industry.TRANSPORT: "物流", Industry.ENERGY: "能源", Industry.REAL_ESTATE: "建设",
                Industry.RETAIL: "商业", Industry.HOSPITALITY: "旅业", Industry.INTERNET: "数字科技"}.get(industry, "")
        style = rnd.random()
        name = f"江苏{b}{word}集团有限公司" if style < 0.6 else f"{b}{word}控股集团有限公司"
        root_naming = Naming(name, f"{b}{word}集团", industry, SEGMENTS[industry][0], f"{brand[1]}group.com", "91", big=True)
    namer.claim(root_naming)
    root = add(root_naming, home, home_district, is_group_root=True)
    root_base = root.name

    subs_wanted = rnd.choices(range(2, 16), [10, 12, 12, 10, 8, 7, 6, 5, 4, 3, 3, 2, 2, 2])[0]
    subs: list[AccountPlan] = []
    if industry == Industry.FINANCE:  # a bank: a branch in each city, then a few non-bank subsidiaries
        cities = [home, *rnd.sample([r for r in REGIONS if r is not home], k=len(REGIONS) - 1)]
        extras = [("理财有限责任公司", "理财", "wm"), ("金融租赁股份有限公司", "金租", "fl"),
                  ("消费金融有限公司", "消金", "cf"), ("基金管理有限公司", "基金", "fund"), ("金融科技有限公司", "金科", "fintech")]
        rnd.shuffle(extras)
        for region, extra in [*((c, None) for c in cities), *((home, e) for e in extras)][:subs_wanted]:
            if len(plans) >= member_cap:
                break
            if extra is None:
                naming = Naming(f"{root_base}{region.name}分行", f"{b}银行{region.name}分行", industry, "银行",
                                root.domain, "91", big=True)
            else:
                naming = Naming(f"{b}{extra[0]}", f"{b}{extra[1]}", industry, "其他金融", f"{brand[1]}{extra[2]}.com", "91")
            if namer.claim(naming):
                subs.append(add(naming, region, rnd.choice(region.districts)[0], level=1, parent=root.ext))
    else:
        for i in range(subs_wanted):
            if len(plans) >= member_cap:
                break
            region = home if i == 0 else rnd.choice(REGIONS)
            district = rnd.choice(region.districts)[0]
            branch = Naming(f"{root_base}{region.name}分公司", f"{root.short}{region.name}分公司", industry, root.segment,
                            root.domain, "91")
            if rnd.random() < 0.35 and namer.claim(branch):
                naming = branch
            else:
                naming = namer.take(lambda r=region: namer.corp(industry, r, brand=brand))
                if naming is None:  # this group has every kind of company in that city already
                    continue
            subs.append(add(naming, region, district, level=1, parent=root.ext))

    # A third level under one or two subsidiaries of about a third of the groups.
    if len(subs) >= 3 and rnd.random() < 0.35:
        for sub in rnd.sample(subs, k=min(2, len(subs))):
            region = REGION_BY_KEY[sub.region]
            for _ in range(rnd.randint(1, 4)):
                if len(plans) >= member_cap:
                    return
                district = rnd.choice(region.districts)[0]
                ds = _dshort(district)
                if "分行" in sub.name:
                    street = rnd.choice(region.streets)
                    name, short = f"{sub.name}{street}支行", f"{b}银行{street}支行"
                elif sub.name.endswith("分公司"):
                    name, short = f"{sub.name}{ds}营业部", f"{b}{region.name}{ds}营业部"
                else:
                    name, short = f"{sub.name}{ds}分公司", f"{sub.short}{ds}分公司"
                naming = Naming(name, short, industry, sub.segment, sub.domain, "91")
                if namer.claim(naming):
                    add(naming, region, district, level=2, parent=sub.ext)


def _assign_tiers(rnd: random.Random, plans: list[AccountPlan], accounts: int) -> None:
    """~3% strategic (most group customers and the largest stand-alone organisations), ~17% key."""
    strategic_n, key_n = round(accounts * 0.03), round(accounts * 0.17)
    roots = [p for p in plans if p.is_group_root]
    rnd.shuffle(roots)
    strategic = roots[: int(len(roots) * 0.75)]
    big = [p for p in plans if p.big and not p.is_group_root and p.level == 0]
    rnd.shuffle(big)
    strategic += big[: max(0, strategic_n - len(strategic))]
    for p in strategic[:strategic_n]:
        p.tier = Tier.STRATEGIC
    rest = [p for p in plans if p.tier == Tier.NORMAL]
    # Key: the other group customers first, then big organisations and subsidiaries, then any.
    rest.sort(key=lambda p: (not p.is_group_root, not (p.big or p.level == 1), rnd.random()))
    for p in rest[:key_n]:
        p.tier = Tier.KEY


def _fill_account(rnd: random.Random, p: AccountPlan, today: dt.date) -> None:
    region = REGION_BY_KEY[p.region]
    division = dict(region.districts)[p.district]
    p.credit_code = credit_code(rnd, p.code_kind, division)
    if p.tier == Tier.NORMAL:
        p.status = rnd.choices([AccountStatus.ACTIVE, AccountStatus.PROSPECT, AccountStatus.DORMANT, AccountStatus.CLOSED],
                               [76, 13, 9, 2])[0]
    else:
        p.status = rnd.choices([AccountStatus.ACTIVE, AccountStatus.DORMANT], [97, 3])[0]
    p.owner = _owner(rnd, region, p.industry)
    tags = set(rnd.sample(TAGS["all"], k=rnd.choice([0, 1, 1, 2, 2, 3])))
    if p.industry in TAGS and rnd.random() < 0.6:
        tags.add(rnd.choice(TAGS[p.industry]))
    if p.tier == Tier.STRATEGIC:
        tags.add("高价值")
    p.tags = sorted(tags)
    street = rnd.choice(region.streets)
    p.address = f"江苏省{region.name}市{p.district}{street}{rnd.randint(1, 399)}号"
    if rnd.random() < 0.3:
        p.address += f"{rnd.choice(['', 'A座', 'B座'])}{rnd.randint(2, 28)}楼"
    if p.domain and rnd.random() < 0.85:  # "gaj.nanjing.gov.cn" stays; "hengxinjm.com" gets its www.
        p.website = p.domain if p.domain.count(".") >= 3 else f"www.{p.domain}"
    p.phone = f"{region.area_code}-{rnd.choice('5678')}{rnd.randrange(10**7):07d}"
    if rnd.random() < 0.35:
        p.description = rnd.choice(DESCRIPTIONS).format(
            n=rnd.choice([80, 150, 300, 600, 1200, 3000]), bw=rnd.choice(BANDWIDTHS[:6]), k=rnd.randint(1, 8),
            product=rnd.choice(["5G专网", "云服务", "IDC托管", "物联网", "SD-WAN"]), pct=rnd.choice([20, 30, 40, 60]))
    p.created_on = today - dt.timedelta(days=rnd.randint(HISTORY_DAYS + 10, 2200))
    p.attributes = _account_attributes(rnd, p, today)


def _account_attributes(rnd: random.Random, p: AccountPlan, today: dt.date) -> dict[str, Any]:
    values: dict[str, Any] = {}
    big = p.tier != Tier.NORMAL
    if rnd.random() < (0.85 if big else 0.55):
        values["bandwidth_mbps"] = rnd.choice(BANDWIDTHS[3:] if big else BANDWIDTHS[:6])
    if p.code_kind == "91" and rnd.random() < 0.5:
        listed_odds = 0.5 if p.is_group_root else 0.4 if "股份有限公司" in p.name else 0.03
        values["is_listed"] = rnd.random() < listed_odds
    if rnd.random() < 0.8:
        values["sub_industry"] = p.segment
    if rnd.random() < 0.6:
        values["products_of_interest"] = sorted(rnd.sample(PRODUCT_CHOICES, k=rnd.randint(1, 3)), key=PRODUCT_CHOICES.index)
    if rnd.random() < 0.5:
        values["contract_expiry"] = (today + dt.timedelta(days=rnd.randint(-60, 720))).isoformat()
    if rnd.random() < (0.7 if big else 0.35):
        budget = rnd.randint(500, 80000 if big else 8000) / 10
        values["annual_budget"] = f"{budget:.2f}"
    return values


TITLES = {  # (title, department, decision role)
    "gov": [("局长", "局领导", DecisionRole.DECISION_MAKER), ("副局长", "局领导", DecisionRole.DECISION_MAKER),
            ("办公室主任", "办公室", DecisionRole.GATEKEEPER), ("信息中心主任", "信息中心", DecisionRole.INFLUENCER),
            ("信息化科科长", "信息化科", DecisionRole.INFLUENCER), ("网络管理员", "信息中心", DecisionRole.USER),
            ("科员", "办公室", DecisionRole.USER), ("财务科科长", "财务科", DecisionRole.GATEKEEPER)],
    Industry.HEALTHCARE: [("院长", "院办", DecisionRole.DECISION_MAKER), ("副院长", "院办", DecisionRole.DECISION_MAKER),
                          ("信息科科长", "信息科", DecisionRole.INFLUENCER), ("设备科科长", "设备科", DecisionRole.GATEKEEPER),
                          ("网络工程师", "信息科", DecisionRole.USER), ("采购办主任", "采购办", DecisionRole.GATEKEEPER),
                          ("院办主任", "院办", DecisionRole.INFLUENCER)],
    Industry.EDUCATION: [("校长", "校办", DecisionRole.DECISION_MAKER), ("副校长", "校办", DecisionRole.DECISION_MAKER),
                         ("网络中心主任", "网络中心", DecisionRole.INFLUENCER),
                         ("信息化办公室主任", "信息化办公室", DecisionRole.INFLUENCER),
                         ("后勤处处长", "后勤处", DecisionRole.GATEKEEPER), ("网络管理员", "网络中心", DecisionRole.USER)],
    Industry.FINANCE: [("行长", "行领导", DecisionRole.DECISION_MAKER), ("副行长", "行领导", DecisionRole.DECISION_MAKER),
                       ("科技部总经理", "金融科技部", DecisionRole.INFLUENCER),
                       ("运营管理部经理", "运营管理部", DecisionRole.INFLUENCER),
                       ("采购专员", "集中采购中心", DecisionRole.GATEKEEPER), ("系统管理员", "金融科技部", DecisionRole.USER)],
    "corp": [("董事长", "董事会", DecisionRole.DECISION_MAKER), ("总经理", "总经办", DecisionRole.DECISION_MAKER),
             ("副总经理", "总经办", DecisionRole.DECISION_MAKER), ("首席信息官", "信息中心", DecisionRole.INFLUENCER),
             ("IT经理", "信息部", DecisionRole.INFLUENCER), ("信息中心主任", "信息中心", DecisionRole.INFLUENCER),
             ("采购经理", "采购部", DecisionRole.GATEKEEPER), ("行政总监", "行政部", DecisionRole.GATEKEEPER),
             ("财务总监", "财务部", DecisionRole.INFLUENCER), ("网络工程师", "信息部", DecisionRole.USER),
             ("行政专员", "行政部", DecisionRole.USER), ("办公室主任", "办公室", DecisionRole.GATEKEEPER)],
}
CONTACT_NOTES = ["喜欢喝茶，拜访时可带本地特产茶叶。", "每周一上午有例会，拜访尽量避开。", "对价格敏感，更看重服务响应时效。",
                 "重视技术细节，建议带解决方案经理一起拜访。", "每年九月启动下一年度预算编制。", "与我方合作多年，关系稳定。",
                 "新到岗，需尽快建立联系。", "习惯微信沟通，电话常不便接听。"]


def _title_pool(p: AccountPlan) -> list[tuple[str, str, str]]:
    if p.industry == Industry.GOVERNMENT:
        return TITLES["gov"]
    return TITLES.get(p.industry, TITLES["corp"])


def plan_contacts(*, accounts: list[AccountPlan], seed: int, today: dt.date) -> list[ContactPlan]:
    rnd = seeded_random(seed, "contacts")
    fake = seeded_faker(seed, "contacts")
    plans: list[ContactPlan] = []
    for a in accounts:
        n = {Tier.STRATEGIC: rnd.randint(6, 10), Tier.KEY: rnd.randint(4, 6)}.get(a.tier, rnd.randint(2, 5))
        titles = _title_pool(a)
        chosen = [rnd.choice(titles[:3])] + [rnd.choice(titles) for _ in range(n - 1)]
        region = REGION_BY_KEY[a.region]
        for i, (title, dept, role) in enumerate(chosen, start=1):
            name = person_name(fake)
            roll = rnd.random()
            domain = a.website.removeprefix("www.") or (f"{region.pinyin}.gov.cn" if a.code_kind == "11" else "")
            if roll < 0.55 and domain:
                email = f"{name.pinyin}@{domain}"
            elif roll < 0.8:
                email = f"{rnd.randint(10**7, 3 * 10**9)}@qq.com"
            elif roll < 0.95:
                email = f"{name.pinyin}{rnd.randint(1, 99)}@{rnd.choice(['163.com', '126.com'])}"
            else:
                email = ""
            birthday = None
            if rnd.random() < 0.85:
                birthday = dt.date(rnd.randint(1963, 1997), rnd.randint(1, 12), rnd.randint(1, 28))
            attributes: dict[str, Any] = {}
            if rnd.random() < 0.35:
                attributes["hobbies"] = "、".join(rnd.sample(HOBBIES, k=rnd.randint(1, 3)))
            if rnd.random() < 0.2:
                attributes["hometown"] = rnd.choice(HOMETOWNS)
            created = (a.created_on or today) + dt.timedelta(days=rnd.randint(0, 365))
            plans.append(ContactPlan(
                ext=f"{a.ext}-c{i}", account=a.ext, name=name.full, surname=name.surname, title=title, department=dept,
                mobile=mobile(rnd), phone=f"{region.area_code}-{rnd.choice('5678')}{rnd.randrange(10**7):07d}" if rnd.random() < 0.6 else "",
                email=email, decision_role=role,
                relationship_strength=rnd.choices([1, 2, 3, 4, 5], [10, 20, 35, 25, 10])[0] if rnd.random() < 0.9 else None,
                birthday=birthday,
                preferred_channel=rnd.choices([Channel.WECHAT, Channel.MOBILE, Channel.VISIT, Channel.EMAIL, Channel.PHONE],
                                              [40, 25, 15, 10, 10])[0],
                is_primary=i == 1, notes=rnd.choice(CONTACT_NOTES) if rnd.random() < 0.15 else "",
                attributes=attributes, created_on=min(created, today - dt.timedelta(days=HISTORY_DAYS)),
            ))
    return plans


MARKETING = ["marketing", "marketing2", "marketing3"]
SERVICE = ["service", "service2", "service3"]
PARTNERS = ["partner", "partner2"]
REASONS = {
    TeamRole.EXECUTIVE_SPONSOR: ["战略客户高层对接", "省公司领导挂点联系"],
    TeamRole.SOLUTION: ["5G专网项目售前支撑", "云服务上云方案设计", "IDC托管方案支撑", "物联网平台对接方案"],
    TeamRole.SERVICE: ["重点客户服务保障", "7×24小时专属客服", "重保期间网络保障", "投诉闭环跟踪"],
    TeamRole.PARTNER: ["渠道合作伙伴协同拓展", "综合布线与集成施工", "视频监控项目集成"],
    TeamRole.ACCOUNT_MANAGER: ["集团成员单位客户经理协同", "集团客户主客户经理统筹服务"],
}


def plan_team(*, accounts: list[AccountPlan], seed: int, today: dt.date) -> list[TeamPlan]:
    rnd = seeded_random(seed, "team")
    by_ext = {a.ext: a for a in accounts}
    children: dict[str, list[AccountPlan]] = {}
    for a in accounts:
        if a.parent:
            children.setdefault(a.parent, []).append(a)
    plans: list[TeamPlan] = []

    def dates() -> tuple[dt.date | None, dt.date | None]:
        roll = rnd.random()
        start = today - dt.timedelta(days=rnd.randint(30, 900))
        if roll < 0.1:  # ended recently: no longer grants access
            end = today - dt.timedelta(days=rnd.randint(1, 60))
            return min(start, end - dt.timedelta(days=180)), end
        if roll < 0.45:
            return start, today + dt.timedelta(days=rnd.randint(30, 720))
        return start, None

    for a in accounts:
        members: dict[str, tuple[str, str]] = {}  # user -> (team role, access)
        if a.tier == Tier.STRATEGIC:
            members["exec2"] = (TeamRole.EXECUTIVE_SPONSOR, Access.READ)
            members[rnd.choice(MARKETING)] = (TeamRole.SOLUTION, Access.EDIT)
            members[rnd.choice(SERVICE)] = (TeamRole.SERVICE, Access.EDIT)
            if rnd.random() < 0.4:
                members[rnd.choice(PARTNERS)] = (TeamRole.PARTNER, Access.READ)
        elif a.tier == Tier.KEY:
            for _ in range(rnd.randint(1, 2)):
                role = rnd.choice([TeamRole.SOLUTION, TeamRole.SERVICE, TeamRole.PARTNER])
                pool = {TeamRole.SOLUTION: MARKETING, TeamRole.SERVICE: SERVICE, TeamRole.PARTNER: PARTNERS}[role]
                members[rnd.choice(pool)] = (role, Access.READ if role == TeamRole.PARTNER else rnd.choice([Access.READ, Access.EDIT]))
        elif rnd.random() < 0.25:
            role = rnd.choice([TeamRole.SERVICE, TeamRole.PARTNER])
            members[rnd.choice(SERVICE if role == TeamRole.SERVICE else PARTNERS)] = (role, Access.READ)
        if a.is_group_root:  # the subsidiaries' account managers in other regions see the group
            for sub in children.get(a.ext, [])[:6]:
                if sub.owner != a.owner and sub.region != a.region:
                    members[sub.owner] = (TeamRole.ACCOUNT_MANAGER, Access.READ)
        if a.parent:  # the group's account manager steers every subsidiary
            root = by_ext[a.parent]
            while root.parent:
                root = by_ext[root.parent]
            if root.owner != a.owner:
                members[root.owner] = (TeamRole.ACCOUNT_MANAGER, Access.EDIT)
        for user, (role, access) in members.items():
            if user == a.owner:
                continue
            start, end = dates()
            if role == TeamRole.ACCOUNT_MANAGER:  # the group's manager on a subsidiary, or the other way round
                reason = REASONS[role][1 if a.parent else 0]
            else:
                reason = rnd.choice(REASONS[role])
            plans.append(TeamPlan(a.ext, user, role, access, start, end, reason))
    return plans


PRODUCT_WORDS = ["互联网专线", "5G专网", "云服务", "IDC托管", "物联网", "SD-WAN", "视频监控", "云电脑", "数据专线",
                 "移动办公", "语音专线", "算力服务", "企业宽带", "云视讯"]
SUBJECTS = {
    InteractionKind.CALL: ["电话沟通{product}续约事宜", "电话回访{product}使用满意度", "与{contact}电话确认{product}报价",
                           "电话跟进{product}故障处理进展", "电话预约下周上门拜访", "电话了解{product}招标进度"],
    InteractionKind.VISIT: ["拜访{contact}，沟通{product}需求", "上门走访，了解{product}使用情况", "陪同公司领导拜访客户高层",
                            "现场勘查{product}部署环境", "走访客户信息中心，交流数字化转型规划"],
    InteractionKind.NOTE: ["客户明年信息化预算初步确定", "客户计划启动{product}招标", "竞争对手报价低于我方约{pct}%",
                           "客户反馈{product}网络时延偏高", "客户组织架构调整，信息中心负责人变动",
                           "客户新办公楼下半年启用，需同步部署网络"],
    InteractionKind.EMAIL: ["发送{product}解决方案建议书", "发送{product}报价单", "邮件确认{product}合同条款",
                            "发送季度服务报告", "发送{product}测试报告"],
    InteractionKind.MEETING: ["{product}项目启动会", "{product}方案交流会", "季度客户服务质量回顾会",
                              "{product}技术交流研讨会", "年度合作洽谈会", "{product}验收会"],
}
BODY_SENTENCES = ["客户对{product}方案整体认可，希望在价格上进一步优化。", "下一步：{days}个工作日内提交正式方案。",
                  "客户关注网络安全与数据本地化存储要求。", "已约定下周再次沟通细节。",
                  "需协调市场部解决方案经理提供技术支撑。", "客户现有{bw}M专线{months}个月后到期，有扩容意向。",
                  "客户希望提供7×24小时专属服务保障。", "对方决策链较长，需提前做好与采购部门的沟通。",
                  "客户对近期一次故障处理时效不满，已安排客户服务中心回访。",
                  "本次沟通气氛良好，客户愿意参加我司组织的5G应用体验活动。", "客户预算有限，建议分期建设。",
                  "竞争对手正在接触该客户，需加快推进。", "已将客户需求提交业务管理部审核资费。"]
KIND_WEIGHTS = {InteractionKind.CALL: 30, InteractionKind.VISIT: 22, InteractionKind.NOTE: 18,
                InteractionKind.EMAIL: 15, InteractionKind.MEETING: 15}


def plan_interactions(*, accounts: list[AccountPlan], contacts: list[ContactPlan], team: list[TeamPlan],
                      seed: int, today: dt.date) -> list[InteractionPlan]:
    rnd = seeded_random(seed, "interactions")
    contacts_of: dict[str, list[ContactPlan]] = {}
    for c in contacts:
        contacts_of.setdefault(c.account, []).append(c)
    helpers_of: dict[str, list[str]] = {}
    for m in team:
        if m.team_role in (TeamRole.SOLUTION, TeamRole.SERVICE, TeamRole.ACCOUNT_MANAGER) and m.valid_to is None:
            helpers_of.setdefault(m.account, []).append(m.user)
    plans: list[InteractionPlan] = []
    for a in accounts:
        if a.status in (AccountStatus.DORMANT, AccountStatus.CLOSED):
            n = rnd.randint(0, 1)
        elif a.status == AccountStatus.PROSPECT:
            n = rnd.randint(1, 3)
        else:
            n = {Tier.STRATEGIC: rnd.randint(18, 30), Tier.KEY: rnd.randint(8, 14)}.get(a.tier, rnd.randint(1, 5))
        people = contacts_of.get(a.ext, [])
        helpers = helpers_of.get(a.ext, [])
        for _ in range(n):
            kind = _pick(rnd, KIND_WEIGHTS)
            contact = rnd.choice(people) if people and rnd.random() < 0.75 else None
            day = today - dt.timedelta(days=rnd.randint(1, HISTORY_DAYS))
            move = rnd.random() < 0.85  # drawn every time, so the stream does not depend on the date
            if day.weekday() >= 5 and move:  # mostly on working days
                day -= dt.timedelta(days=day.weekday() - 4)
            when = at(day, rnd.randint(8, 17), rnd.choice([0, 10, 15, 20, 30, 40, 45, 50]))
            words = {"product": rnd.choice(PRODUCT_WORDS), "pct": rnd.choice([5, 8, 10, 15, 20]),
                     "contact": f"{contact.name}（{contact.title}）" if contact else "客户联系人",
                     "days": rnd.choice([3, 5, 7, 10]), "bw": rnd.choice(BANDWIDTHS[:6]), "months": rnd.randint(1, 6)}
            subject = rnd.choice(SUBJECTS[kind]).format(**words)
            body = "".join(s.format(**words) for s in rnd.sample(BODY_SENTENCES, k=rnd.randint(1, 3)))
            author = rnd.choice(helpers) if helpers and rnd.random() < 0.2 else a.owner
            plans.append(InteractionPlan(a.ext, contact.ext if contact else None, kind, subject, body, when, author))
    return plans


def plan_customers(*, accounts: int, seed: int, today: dt.date) -> CustomerPlan:
    """Everything the customer stages write, computed from the seed alone (no database access)."""
    account_plans = plan_accounts(accounts=accounts, seed=seed, today=today)
    contacts = plan_contacts(accounts=account_plans, seed=seed, today=today)
    team = plan_team(accounts=account_plans, seed=seed, today=today)
    interactions = plan_interactions(accounts=account_plans, contacts=contacts, team=team, seed=seed, today=today)
    return CustomerPlan(account_plans, contacts, team, interactions)


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------

def build_customers(*, accounts: int = 2000, seed: int = DEFAULT_SEED, today: dt.date | None = None,
                    progress: Progress | None = None) -> list[StageReport]:
    """Write the customer stages, each in one transaction, creating only what is missing."""
    today = today or today_local()
    plan = plan_customers(accounts=accounts, seed=seed, today=today)
    return [
        _write_definitions(progress),
        _write_accounts(plan.accounts, today, progress),
        _write_contacts(plan.contacts, progress),
        _write_team(plan.team, progress),
        _write_interactions(plan.interactions, progress),
    ]


def _clean(values: dict[str, Any], definitions: list[AttributeDefinition]) -> dict[str, Any]:
    """Values as the attribute engine stores them; a value the current definitions refuse is left out."""
    defs = {d.key: d for d in definitions}
    cleaned = {}
    for key, raw in values.items():
        if key in defs:
            try:
                value = coerce_value(defs[key], raw)
            except ValueError:
                continue
            if value is not None:
                cleaned[key] = value
    return cleaned


def _write_definitions(progress: Progress | None) -> StageReport:
    with timed_stage("attributes", progress) as report:
        existing = set(AttributeDefinition.objects.values_list("entity", "key"))
        new = [AttributeDefinition(**d) for d in ATTRIBUTE_PLAN if (d["entity"], d["key"]) not in existing]
        bulk_insert(AttributeDefinition, new)
        audit_created(new)
        report.created = {"custom attributes": len(new)}
    return report


def _demo_ids(model) -> dict[str, int]:
    return dict(model.objects.filter(source_system=SOURCE).exclude(external_id="").values_list("external_id", "pk"))


def _write_accounts(plans: list[AccountPlan], today: dt.date, progress: Progress | None) -> StageReport:
    with timed_stage("accounts", progress) as report:
        ids = _demo_ids(Account)
        todo = [p for p in plans if p.ext not in ids]
        users = {u.username: u for u in User.objects.filter(username__in={p.owner for p in todo}).only("pk", "unit_id", "username")}
        regions = dict(OrgUnit.objects.filter(code__in=[r.code for r in REGIONS]).values_list("code", "pk"))
        taken = set()
        codes = [p.credit_code for p in todo]
        for i in range(0, len(codes), 500):  # credit codes someone else's accounts already use stay blank here
            taken |= set(Account.objects.filter(credit_code__in=codes[i:i + 500]).values_list("credit_code", flat=True))
        definitions = definitions_for(AttributeEntity.ACCOUNT)
        created_on: dict[str, dt.date] = {}
        new: list[Account] = []
        for level in (0, 1, 2):
            batch = []
            for p in todo:
                owner = users.get(p.owner)
                if p.level != level or owner is None or not owner.unit_id:
                    continue
                batch.append(Account(
                    name=p.name, short_name=p.short, credit_code="" if p.credit_code in taken else p.credit_code,
                    industry=p.industry, tier=p.tier, status=p.status, region_id=regions[REGION_BY_KEY[p.region].code],
                    parent_id=ids.get(p.parent) if p.parent else None, owner=owner,
                    owner_unit_id=owner.unit_id,  # as account_create sets it
                    tags=p.tags, address=p.address, website=p.website, phone=p.phone, description=p.description,
                    attributes=_clean(p.attributes, definitions), source_system=SOURCE, external_id=p.ext,
                ))
                created_on[p.ext] = p.created_on or today
            bulk_insert(Account, batch)
            ids.update({a.external_id: a.pk for a in batch})
            new += batch
        audit_created(new, occurred_at=lambda a: at(created_on[a.external_id], 9, 30))
        report.created = {"accounts": len(new), "group members": sum(1 for a in new if a.parent_id)}
    return report


def _write_contacts(plans: list[ContactPlan], progress: Progress | None) -> StageReport:
    with timed_stage("contacts", progress) as report:
        accounts = _demo_ids(Account)
        existing = _demo_ids(Contact)
        definitions = definitions_for(AttributeEntity.CONTACT)
        new = []
        created_on: dict[str, dt.date] = {}
        for p in plans:
            if p.ext in existing or p.account not in accounts:
                continue
            new.append(Contact(
                account_id=accounts[p.account], name=p.name, title=p.title, department=p.department, mobile=p.mobile,
                phone=p.phone, email=p.email, decision_role=p.decision_role,
                relationship_strength=p.relationship_strength, birthday=p.birthday,
                preferred_channel=p.preferred_channel, is_primary=p.is_primary, notes=p.notes,
                attributes=_clean(p.attributes, definitions), source_system=SOURCE, external_id=p.ext,
            ))
            created_on[p.ext] = p.created_on
        bulk_insert(Contact, new)
        audit_created(new, occurred_at=lambda c: at(created_on[c.external_id], 10, 0))
        report.created = {"contacts": len(new)}
    return report


def _write_team(plans: list[TeamPlan], progress: Progress | None) -> StageReport:
    with timed_stage("account teams", progress) as report:
        # Instances, not ids: the audit entry's text is str(member), "<user> @ <account>".
        accounts = {a.external_id: a for a in Account.objects.filter(source_system=SOURCE).only("pk", "name", "external_id")}
        users = {u.username: u for u in User.objects.filter(username__in={p.user for p in plans})}
        existing = set(AccountTeamMember.objects.filter(account__source_system=SOURCE).values_list("account_id", "user_id"))
        new = []
        for p in plans:
            account, user = accounts.get(p.account), users.get(p.user)
            if account is None or user is None or (account.pk, user.pk) in existing:
                continue
            existing.add((account.pk, user.pk))
            new.append(AccountTeamMember(account=account, user=user, team_role=p.team_role, access=p.access,
                                         valid_from=p.valid_from, valid_to=p.valid_to, reason=p.reason))
        bulk_insert(AccountTeamMember, new)
        audit_created(new, occurred_at=lambda m: at(m.valid_from, 10, 30) if m.valid_from else at(today_local(), 0))
        report.created = {"team members": len(new)}
    return report


def _write_interactions(plans: list[InteractionPlan], progress: Progress | None) -> StageReport:
    """Interactions have no external id: an account gets the demo's interactions only while it has none."""
    with timed_stage("timeline", progress) as report:
        accounts = _demo_ids(Account)
        logged = set(Interaction.objects.filter(account__source_system=SOURCE)
                     .values_list("account_id", flat=True).distinct())
        contacts = {ext: (pk, name) for ext, pk, name in
                    Contact.objects.filter(source_system=SOURCE).values_list("external_id", "pk", "name")}
        users = dict(User.objects.filter(username__in={p.author for p in plans}).values_list("username", "pk"))
        new: list[Interaction] = []
        contact_names: list[str] = []
        for p in plans:
            account_id = accounts.get(p.account)
            if account_id is None or account_id in logged:
                continue
            contact_id, contact_name = contacts.get(p.contact, (None, "")) if p.contact else (None, "")
            new.append(Interaction(account_id=account_id, contact_id=contact_id, kind=p.kind, subject=p.subject,
                                   body=p.body, occurred_at=p.occurred_at, author_id=users.get(p.author)))
            contact_names.append(contact_name)
        bulk_insert(Interaction, new)
        ct = ContentType.objects.get_for_model(Interaction)
        bulk_insert(TimelineEvent, [  # as interaction_log writes them
            TimelineEvent(account_id=i.account_id, occurred_at=i.occurred_at, kind=i.kind, summary=i.subject[:300],
                          body=i.body, actor_id=i.author_id, content_type=ct, object_id=i.pk, data={"contact": name})
            for i, name in zip(new, contact_names, strict=True)
        ])
        audit_created(new)
        report.created = {"interactions": len(new)}
    return report
