"""Demo data, part 3: the product catalogue of the provincial telecom branch and this year's product plan.

A fixed catalogue (no randomness but the plan's priorities and targets): product lines and products of
a telecom operator's government and enterprise business, with list prices in CNY, written through
products.services (tens of rows: every rule and the audit entries come with them). Existing lines and
products (by code) are left alone, so a second run writes nothing.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from kamcrm.org.demo import (
    DEFAULT_SEED,
    REGIONS,
    SOURCE,
    Progress,
    StageReport,
    seeded_random,
    timed_stage,
    today_local,
)
from kamcrm.org.models import OrgUnit
from kamcrm.products import services
from kamcrm.products.choices import PlanPriority, ProductStatus
from kamcrm.products.models import Product, ProductLine, ProductPlan

# (code, name, description)
LINES: list[tuple[str, str, str]] = [
    ("5G", "5G 专网", "5G 行业专网：切片、MEC 边缘计算与专网运维 (5G private networks)"),
    ("LINE", "云专线与互联网专线", "政企专线：云专线、数据专线、互联网专线 (dedicated lines)"),
    ("IDC", "IDC 与云", "IDC 托管、机柜租用、政务云与云电脑 (data centre and cloud)"),
    ("IOT", "物联网", "物联网卡、连接管理平台与行业终端 (IoT)"),
    ("BB", "企业宽带与融合通信", "企业宽带、云总机、集团 V 网 (broadband and unified communications)"),
    ("ICT", "ICT 集成与安全", "ICT 集成、视频监控与网络安全服务 (ICT integration and security)"),
]

# (code, line code, name, unit, list price in CNY, status)
PRODUCTS: list[tuple[str, str, str, str, str, str]] = [
    ("5G-PN-BASIC", "5G", "5G 专网（虚拟专网）", "套/年", "180000", ProductStatus.ACTIVE),
    ("5G-PN-HYBRID", "5G", "5G 专网（混合专网 + MEC）", "套/年", "650000", ProductStatus.ACTIVE),
    ("5G-SLICE", "5G", "5G 网络切片", "条/年", "96000", ProductStatus.ACTIVE),
    ("5G-CAMPUS", "5G", "5G 智慧园区解决方案", "项", "1200000", ProductStatus.PLANNED),
    ("LINE-CLOUD", "LINE", "云专线 (100M)", "条/年", "36000", ProductStatus.ACTIVE),
    ("LINE-DATA", "LINE", "数据专线 (SDH/MSTP)", "条/年", "28000", ProductStatus.RETIRING),
    ("LINE-DIA", "LINE", "互联网专线 (1000M)", "条/年", "120000", ProductStatus.ACTIVE),
    ("LINE-OTN", "LINE", "OTN 精品专线", "条/年", "240000", ProductStatus.ACTIVE),
    ("IDC-RACK", "IDC", "IDC 托管（标准机柜）", "个/年", "60000", ProductStatus.ACTIVE),
    ("IDC-BW", "IDC", "IDC 带宽 (100M)", "条/年", "24000", ProductStatus.ACTIVE),
    ("CLOUD-HOST", "IDC", "政务云主机", "台/年", "8000", ProductStatus.ACTIVE),
    ("CLOUD-PC", "IDC", "云电脑", "台/年", "1200", ProductStatus.ACTIVE),
    ("IOT-CARD", "IOT", "物联网卡 (NB-IoT)", "张/年", "60", ProductStatus.ACTIVE),
    ("IOT-CARD-4G", "IOT", "物联网卡 (4G Cat.1)", "张/年", "120", ProductStatus.ACTIVE),
    ("IOT-PLATFORM", "IOT", "物联网连接管理平台", "套/年", "50000", ProductStatus.ACTIVE),
    ("BB-100M", "BB", "企业宽带 (100M)", "条/年", "2400", ProductStatus.RETIRED),
    ("BB-1000M", "BB", "企业宽带 (1000M)", "条/年", "9600", ProductStatus.ACTIVE),
    ("UC-PBX", "BB", "云总机", "席/年", "480", ProductStatus.ACTIVE),
    ("UC-VNET", "BB", "集团 V 网", "户/年", "240", ProductStatus.ACTIVE),
    ("ICT-VIDEO", "ICT", "视频监控（云看护）", "路/年", "600", ProductStatus.ACTIVE),
    ("ICT-SEC", "ICT", "网络安全服务（等保测评）", "项", "150000", ProductStatus.ACTIVE),
    ("ICT-INTEG", "ICT", "ICT 系统集成", "项", "800000", ProductStatus.ACTIVE),
]
PRIORITIES = [PlanPriority.FOCUS, PlanPriority.GROW, PlanPriority.GROW, PlanPriority.MAINTAIN]


def build_products(*, seed: int = DEFAULT_SEED, today: dt.date | None = None,
                   progress: Progress | None = None) -> StageReport:
    """The catalogue and this year's product plan (product lines × demo regions); only what is missing."""
    today = today or today_local()
    rnd = seeded_random(seed, "product-plan")
    with timed_stage("products", progress) as report:
        lines = {line.code: line for line in ProductLine.objects.all()}
        new_lines = new_products = new_plans = 0
        for code, name, description in LINES:
            if code not in lines:
                lines[code] = services.product_line_create(code=code, name=name, description=description,
                                                           source_system=SOURCE, external_id=f"line-{code}")
                new_lines += 1
        existing = set(Product.objects.values_list("code", flat=True))
        for code, line, name, unit, price, status in PRODUCTS:
            if code not in existing:
                services.product_create(line=lines[line], code=code, name=name, unit=unit, list_price=Decimal(price),
                                        status=status, source_system=SOURCE, external_id=f"product-{code}",
                                        launched_on=dt.date(2018 + len(code) % 6, 1 + len(name) % 12, 1))
                new_products += 1
        regions = {u.code: u for u in OrgUnit.objects.filter(code__in=[r.code for r in REGIONS])}
        planned = set(ProductPlan.objects.filter(year=today.year).values_list("line_id", "region_id"))
        for code, _name, _description in LINES:
            for region in REGIONS:
                priority = PlanPriority.FOCUS if code == "5G" else rnd.choice(PRIORITIES)
                target = Decimal(rnd.randrange(20, 300) * 100_000) * Decimal(str(region.share * 3))
                unit = regions.get(region.code)
                if unit is None or (lines[code].pk, unit.pk) in planned:
                    continue
                services.product_plan_set(year=today.year, line=lines[code], region=unit, priority=priority,
                                          target_amount=target.quantize(Decimal("1")),
                                          notes="年度重点推广" if priority == PlanPriority.FOCUS else "")
                new_plans += 1
        report.created = {"product lines": new_lines, "products": new_products, "plan lines": new_plans}
    return report
