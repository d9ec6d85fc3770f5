"""Importing targets (K7) in the layout business management already keeps: one row per node, months across.

    单位/人员 | 指标     | 产品线 | 1月    | 2月    | … | 12月
    HQ        | 预计收入 |        | 900000 | 900000 | … | 900000
    EAST      | 预计收入 |        | 500000 | …
    rep       | 预计收入 |        | 120000 | …

Columns (headers in Chinese or English; the mapping page guesses them, `steps_for()` reads every
spelling below): the node — a unit's code, a person's username, or a unit's name when unique (单位/人员,
单位, 人员, unit, person); the metric — its code or its Chinese or English name (指标, metric); the product
line, optional (产品线, product line); the twelve months (1月…12月, 一月…十二月, Jan…Dec, M1…M12). A "合计"
or "total" column is ignored.

Which plan: the year of the plan (`year`, 年度) — a column or, as usually, a constant in the mapping — and
optionally its `version` (版本). Without a version the year's latest version is written. A plan that is
submitted (waiting for approval) or approved (locked) is refused on every row: send it back, or revise it
into a new version, first. The import never creates a version by itself.

What a row does: it sets the node's figures for the months whose columns are mapped (an empty cell is 0;
a month not mapped keeps its figure) through targets.services, exactly as the plan page does:
- a node whose line was split from a parent, or whose unit above already has figures in the plan, becomes
  (or stays) that parent's child: the parent's unallocated line takes parent − children in every month,
  so children + unallocated = parent still holds; children exceeding their parent are refused;
- a node with no parent figures is set as a top line; a split node set to a figure its children no
  longer add up to is flagged out of balance (rebalance it on the plan page);
- rows are written top down within a batch (a parent before its units and people), and the rows splitting
  one parent together, so a file may move figures between siblings.

Every bad row is reported with its line and column: an unknown unit/person or metric, a negative,
non-numeric or too precise month cell (count metrics are whole numbers), a locked or submitted plan, a node
the importer may not plan (services.may_plan on the unit that splits it), the same node twice, children
adding up to more than their parent in a month (the file's rows with the parent's other children in the
plan, on the month's cell of the group's last row) — all found while checking, so a dry run shows them.

All or nothing: if any row is rejected while checking, no row of the file is written (each is reported
"not imported"). A row the services still refuse while writing rejects its whole batch
(KAMCRM_IMPORT_BATCH_SIZE rows, 1000 by default, so any usual targets file) and every later one; batches
committed before it stay. The checks above see one batch at a time: keep a parent and its children in one
batch (a file of up to 1000 rows, or one file per level) so that the file is written whole.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from kamcrm.core.services import validation_error_dict
from kamcrm.exchange.import_specs import (
    DECIMAL,
    INT,
    REF,
    TEXT,
    FieldSpec,
    ImportContext,
    ImportEntity,
    ImportRow,
    RowProblem,
    norm,
    register,
)
from kamcrm.exchange.models import ImportErrorKind, ImportRowError, ImportStatus
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import EDIT, reach
from kamcrm.products.import_entities import LINE_REF
from kamcrm.targets import services
from kamcrm.targets.choices import PlanStatus
from kamcrm.targets.models import Metric, TargetLine, TargetPlan

__all__ = ["MONTH_FIELDS", "TargetImport", "steps_for"]

MONTH_FIELDS = tuple(f"m{m}" for m in range(1, 13))
_EN_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class MonthLabel:
    """A month's column label in the current language: "1月" in Chinese, "Jan" otherwise — the headers the
    department's files use. Not a msgid: Django's catalogue already translates "May" as 五月."""

    def __init__(self, month: int):
        self.month = month

    def __str__(self) -> str:
        return f"{self.month}月" if (get_language() or "").startswith("zh") else _EN_ABBR[self.month - 1]

    def __repr__(self) -> str:
        return f"MonthLabel({self.month})"


MONTH_LABELS = tuple(MonthLabel(m) for m in range(1, 13))
_EN_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december")
_ZH_NUMBERS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")

# Header words a department's file uses for each field (compared with import_specs.norm).
HEADER_WORDS: dict[str, set[str]] = {
    "node": {"单位/人员", "单位或人员", "单位", "人员", "部门", "组织", "node", "unit", "person", "unit/person",
             "unitorperson", "unitcode", "username"},
    "metric": {"指标", "指标名称", "指标代码", "metric", "metriccode"},
    "product_line": {"产品线", "productline", "line"},
    "year": {"年度", "年份", "年", "year"},
    "version": {"版本", "version"},
}
for _m in range(1, 13):
    HEADER_WORDS[f"m{_m}"] = {f"{_m}月", f"{_ZH_NUMBERS[_m - 1]}月", f"m{_m}", f"{_m:02d}月", f"month{_m}",
                              _EN_MONTHS[_m - 1], _EN_MONTHS[_m - 1][:3]}


def steps_for(headers: list[str], *, year: int | None = None, version: int | None = None) -> list[dict[str, Any]]:
    """The mapping for a file in the department's layout: each header recognised in Chinese or English,
    the year (and version) given as constants when the file has no such column."""
    fields: dict[str, Any] = {}
    for header in headers:
        word = norm(header)
        for name, words in HEADER_WORDS.items():
            if name not in fields and word in {norm(w) for w in words}:
                fields[name] = {"column": header}
                break
    if "year" not in fields and year is not None:
        fields["year"] = {"value": year}
    if "version" not in fields and version is not None:
        fields["version"] = {"value": version}
    return [{"entity": TargetImport.name, "fields": fields}]


def _level(node: OrgUnit | User) -> int:
    return node.unit.depth + 1 if isinstance(node, User) else node.depth


def _above(node: OrgUnit | User, units: dict[int, OrgUnit]) -> OrgUnit | None:
    """The unit a node is split from in the organisation: a person's unit, a unit's parent."""
    if isinstance(node, User):
        return node.unit
    return units.get(node.parent_id) if node.parent_id else None


class TargetImport(ImportEntity):
    name = "targets"
    label = gettext_lazy("targets")
    model = TargetLine
    file_keys = ()
    fields = (
        FieldSpec("node", gettext_lazy("unit/person"), TEXT, required=True, max_length=150,
                  help=gettext_lazy("A unit's code, a person's username, or a unit's name when no other unit "
                                    "has it.")),
        FieldSpec("metric", gettext_lazy("metric"), TEXT, required=True, max_length=60,
                  help=gettext_lazy("The metric's code or its Chinese or English name.")),
        FieldSpec("product_line", gettext_lazy("product line"), REF, ref=LINE_REF,
                  help=gettext_lazy("Optional: the target is for this product line only.")),
        FieldSpec("year", gettext_lazy("year"), INT, required=True,
                  help=gettext_lazy("The plan's year; usually a constant in the mapping.")),
        FieldSpec("version", gettext_lazy("version"), INT,
                  help=gettext_lazy("The plan's version; empty: the year's latest version.")),
        *(FieldSpec(name, label, DECIMAL, help=gettext_lazy("The month's target; an empty cell is 0."))
          for name, label in zip(MONTH_FIELDS, MONTH_LABELS, strict=True)),
    )

    def permitted(self, user) -> bool:  # noqa: ANN001
        """Those who plan anything: business management, executives, administrators, heads and managers."""
        if user is None:
            return True
        if not user.is_authenticated:
            return False
        r = reach(user, EDIT)
        return services.may_create_plans(user) or r.everything or bool(r.unit_paths)

    def duplicate_keys(self, row: ImportRow) -> list[tuple[str, Any]]:
        """The same node, metric and product line twice in one plan, shown as a reader names it."""
        if "_key" not in row.values:
            return []
        node, metric = row.values["_node"], row.values["_metric"]
        key = " · ".join(str(part) for part in (
            row.values["_plan"], node.username if isinstance(node, User) else node.code, metric.code,
            row.raw.get("product_line") or "") if part)
        return [("node+metric+product_line", key)]

    # ---- checking -------------------------------------------------------------------------------

    def _nodes(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        """row.values["_node"]: the unit (by code, else by unique name) or person (by username)."""
        cache: dict[str, Any] = ctx.memo.setdefault("target_nodes", {})
        wanted = {str(r.values["node"]) for r in rows if "node" in r.values} - set(cache)
        if wanted:
            units = list(OrgUnit.objects.filter(Q(code__in=wanted) | Q(name__in=wanted)))
            people = {u.username: u for u in User.objects.filter(username__in=wanted).select_related("unit")}
            by_code = {u.code: u for u in units}
            by_name: dict[str, list[OrgUnit]] = defaultdict(list)
            for unit in units:
                by_name[unit.name].append(unit)
            for value in wanted:
                if value in by_code:
                    cache[value] = by_code[value]
                elif value in people:
                    cache[value] = people[value]
                elif len(by_name.get(value, [])) == 1:
                    cache[value] = by_name[value][0]
                else:
                    cache[value] = "ambiguous" if by_name.get(value) else None
        for row in rows:
            if "node" not in row.values:
                continue
            found = cache.get(str(row.values["node"]))
            if found is None:
                row.error("node", ImportErrorKind.REFERENCE,
                          _("No unit (code or name) or person (username) “%(v)s”.") % {"v": row.values["node"]})
            elif found == "ambiguous":
                row.error("node", ImportErrorKind.REFERENCE,
                          _("Several units are called “%(v)s”; use the unit's code.") % {"v": row.values["node"]})
            elif isinstance(found, User) and not found.unit_id:
                row.error("node", ImportErrorKind.INVALID,
                          _("%(p)s belongs to no unit; give them one before setting a target.") % {"p": found})
            else:
                row.values["_node"] = found

    def _metrics(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        table = ctx.memo.get("target_metrics")
        if table is None:
            table = {}
            for metric in Metric.objects.all():
                for word in (metric.code, metric.name_zh, metric.name_en):
                    table.setdefault(norm(word), metric)
            ctx.memo["target_metrics"] = table
        for row in rows:
            if "metric" not in row.values:
                continue
            metric = table.get(norm(row.values["metric"]))
            if metric is None:
                row.error("metric", ImportErrorKind.REFERENCE,
                          _("No metric “%(v)s”; use its code or its name.") % {"v": row.values["metric"]})
            else:
                row.values["_metric"] = metric

    def _plans(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        cache: dict[tuple, Any] = ctx.memo.setdefault("target_plans", {})
        for row in rows:
            year = row.values.get("year")
            if year is None:
                continue
            version = row.values.get("version")
            if (year, version) not in cache:
                plans = TargetPlan.objects.filter(year=year)
                cache[(year, version)] = (plans.filter(version=version) if version is not None
                                          else plans.order_by("-version")).first()
            plan = cache[(year, version)]
            field = "version" if version is not None else "year"
            if plan is None:
                row.error(field, ImportErrorKind.REFERENCE,
                          (_("No target plan %(y)s version %(v)s.") if version is not None else
                           _("No target plan for %(y)s; create it first.")) % {"y": year, "v": version})
            elif plan.status == PlanStatus.APPROVED:
                row.error(field, ImportErrorKind.INVALID, _("Plan %(plan)s is approved and locked; revise it into a "
                                                            "new version first.") % {"plan": plan})
            elif plan.status == PlanStatus.SUBMITTED:
                row.error(field, ImportErrorKind.INVALID, _("Plan %(plan)s is waiting for approval; send it back "
                                                            "before changing it.") % {"plan": plan})
            else:
                row.values["_plan"] = plan

    @staticmethod
    def _months(row: ImportRow) -> None:
        """row.values["_amounts"]: {month: amount} for the mapped months (an empty cell is 0)."""
        mapped = [name for name in MONTH_FIELDS if name in row.columns]
        if not mapped:
            row.error("m1", ImportErrorKind.MISSING, _("Map at least one month column (1月…12月)."))
            return
        metric = row.values.get("_metric")
        amounts: dict[int, Decimal] = {}
        for name in mapped:
            if any(f == name for f, _k, _m in row.errors):
                continue  # not a number: already reported on this cell
            value = row.values.get(name, Decimal("0"))
            if value < 0:
                row.error(name, ImportErrorKind.INVALID, _("A target cannot be negative."))
            elif metric is not None and value != value.quantize(metric.quantum):
                row.error(name, ImportErrorKind.INVALID,
                          _("“%(metric)s” is counted in whole numbers.") % {"metric": metric.label} if metric.is_count
                          else _("Amounts are in cents at most."))
            else:
                amounts[int(name[1:])] = value
        row.values["_amounts"] = amounts

    def _planners(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        """The importer must plan the unit that splits each node (services.may_plan): its parent's, when
        the node is or will be split from one, else its own."""
        user = ctx.user
        ready = [r for r in rows if r.ok]
        if not ready:
            return
        units = ctx.memo.get("target_units")
        if units is None:
            units = ctx.memo["target_units"] = {u.pk: u for u in OrgUnit.objects.all()}
        keys: set[str] = set()
        for row in ready:
            node, line_id = row.values["_node"], row.values.get("product_line")
            row.values["_line"] = line_id
            row.values["_key"] = (row.values["_plan"].pk, row.values["_metric"].pk,
                                  services.node_key(node, line_id))
            above = _above(node, units)
            keys.add(services.node_key(node, line_id))
            if above is not None:
                keys.add(services.node_key(above, line_id))
        plans = {r.values["_plan"].pk for r in ready}
        lines = (TargetLine.objects.filter(plan_id__in=plans, node__in=keys, is_unallocated=False)
                 .values_list("plan_id", "metric_id", "node", "parent__unit_id").distinct())
        has_lines, split_from = set(), {}
        for plan_id, metric_id, key, parent_unit in lines:
            has_lines.add((plan_id, metric_id, key))
            if parent_unit is not None:
                split_from[(plan_id, metric_id, key)] = parent_unit
        in_file = {r.values["_key"] for r in ready}
        for row in ready:
            node = row.values["_node"]
            plan_id, metric_id, key = row.values["_key"]
            row.existing = TargetLine() if (plan_id, metric_id, key) in has_lines else None
            above = _above(node, units)
            above_key = (plan_id, metric_id, services.node_key(above, row.values["_line"])) if above else None
            parent = None  # the unit the node is (or will be) split from
            if (plan_id, metric_id, key) in split_from:
                parent = units[split_from[(plan_id, metric_id, key)]]
            elif above_key is not None and (above_key in has_lines or above_key in in_file):
                parent = above
            row.values["_parent"] = parent
            planner = parent or (node.unit if isinstance(node, User) else node)
            if user is not None and not services.may_plan(user, planner):
                row.error("node", ImportErrorKind.PERMISSION,
                          _("You may not set targets for %(unit)s.") % {"unit": planner})

    def _over(self, rows: list[ImportRow]) -> None:
        """Children that would exceed their parent in some month (what target_decompose refuses), found while
        checking so that a dry run shows them: the parent's figures are the file's where it has a row,
        else the plan's; the children are the file's rows plus the parent's other children in the plan."""
        groups: dict[tuple, list[ImportRow]] = defaultdict(list)
        for row in rows:
            if row.ok and row.values.get("_parent") is not None:
                plan_id, metric_id, _key = row.values["_key"]
                groups[(plan_id, metric_id, row.values["_line"], row.values["_parent"].pk)].append(row)
        if not groups:
            return
        units = {parent_id: row.values["_parent"] for (*_k, parent_id), group in groups.items() for row in group}
        parent_keys = {(p, m, services.node_key(units[u], line)) for p, m, line, u in groups}
        parent_lines = list(TargetLine.objects.filter(plan_id__in={k[0] for k in parent_keys},
                                                      node__in={k[2] for k in parent_keys}, is_unallocated=False)
                            .values_list("pk", "plan_id", "metric_id", "node", "month", "amount"))
        parent_months: dict[tuple, dict[int, Decimal]] = defaultdict(dict)
        line_of: dict[int, tuple] = {}
        for pk, plan_id, metric_id, key, month, amount in parent_lines:
            if (plan_id, metric_id, key) in parent_keys:
                parent_months[(plan_id, metric_id, key)][month] = amount
                line_of[pk] = (plan_id, metric_id, key)
        children: dict[tuple, dict[str, dict[int, Decimal]]] = defaultdict(lambda: defaultdict(dict))
        for parent_id, key, month, amount in (TargetLine.objects.filter(parent_id__in=list(line_of),
                                                                        is_unallocated=False)
                                              .values_list("parent_id", "node", "month", "amount")):
            children[line_of[parent_id]][key][month] = amount
        in_file = {row.values["_key"]: row for row in rows if row.ok}
        for (plan_id, metric_id, line, unit_id), group in groups.items():
            pkey = (plan_id, metric_id, services.node_key(units[unit_id], line))
            parent = {m: parent_months[pkey].get(m, Decimal("0")) for m in range(1, 13)}
            if pkey in in_file:
                parent.update(in_file[pkey].values["_amounts"])
            kids = {key: dict(months) for key, months in children[pkey].items()}
            for row in group:
                kids.setdefault(row.values["_key"][2], {}).update(row.values["_amounts"])
            for month in range(1, 13):
                total = sum((months.get(month, Decimal("0")) for months in kids.values()), Decimal("0"))
                if total > parent[month]:
                    last = max(group, key=lambda r: r.line)
                    q = last.values["_metric"].quantum
                    name = f"m{month}"
                    last.error(name if name in last.columns else "node", ImportErrorKind.INVALID,
                               _("The targets below %(parent)s add up to %(total)s in month %(m)d, over its "
                                 "%(amount)s by %(over)s.") % {"parent": units[unit_id], "total": total.quantize(q), "m": month,
                                                               "amount": parent[month].quantize(q),
                                                               "over": (total - parent[month]).quantize(q)})
                    break

    def match(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        if ctx.memo.get("target_rejected"):
            return  # writing a file that is not imported: write() says why, row by row
        self._nodes(rows, ctx)
        self._metrics(rows, ctx)
        self._plans(rows, ctx)
        for row in rows:
            self._months(row)
        self._planners(rows, ctx)
        self._over(rows)
        job = ctx.job
        if job is not None and job.status == ImportStatus.WRITING and not all(r.ok for r in rows):
            # the engine would write the batch without the bad row: reject the file instead (write())
            ctx.memo["target_rejected"] = min(r.line for r in rows if not r.ok)

    # ---- writing --------------------------------------------------------------------------------

    def _first_rejected(self, ctx: ImportContext) -> int | None:
        """The first line rejected while checking (then nothing is written), or refused while writing."""
        if "target_rejected" not in ctx.memo:
            line = None
            if ctx.job is not None:
                line = (ImportRowError.objects.filter(job=ctx.job).order_by("line")
                        .values_list("line", flat=True).first())
            ctx.memo["target_rejected"] = line
        return ctx.memo["target_rejected"]

    def write(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        if not rows:
            return
        first = self._first_rejected(ctx)
        if first is not None:
            raise RowProblem(rows[0], "node", _("Not imported: line %(line)d is rejected (a targets file is imported "
                                                "whole or not at all).") % {"line": first})
        by = ctx.user if ctx.user is not None and getattr(ctx.user, "pk", None) else None
        units = ctx.memo["target_units"]
        for level in sorted({_level(r.values["_node"]) for r in rows}):
            todo = [r for r in rows if _level(r.values["_node"]) == level]
            for group, parent in self._groups(todo, units):
                self._write_group(group, parent, by, ctx)
        for row in rows:
            row.status = "updated" if row.existing is not None else "created"

    @staticmethod
    def _groups(rows: list[ImportRow], units: dict[int, OrgUnit]) -> list[tuple[list[ImportRow], OrgUnit | None]]:
        """The rows of one level, grouped by the parent they are split from (None: set on their own), as
        services.target_set would decide — read now, after the levels above were written."""
        keys = {r.values["_key"][2] for r in rows}
        aboves = {services.node_key(a, r.values["_line"]) for r in rows if (a := _above(r.values["_node"], units))}
        plans = {r.values["_plan"].pk for r in rows}
        found = (TargetLine.objects.filter(plan_id__in=plans, node__in=keys | aboves, is_unallocated=False)
                 .values_list("plan_id", "metric_id", "node", "parent__unit_id").distinct())
        has_lines, split_from = set(), {}
        for plan_id, metric_id, key, parent_unit in found:
            has_lines.add((plan_id, metric_id, key))
            if parent_unit is not None:
                split_from[(plan_id, metric_id, key)] = parent_unit
        groups: dict[tuple, list[ImportRow]] = defaultdict(list)
        for row in rows:
            plan_id, metric_id, key = row.values["_key"]
            above = _above(row.values["_node"], units)
            parent = None
            if (plan_id, metric_id, key) in split_from:
                parent = units[split_from[(plan_id, metric_id, key)]]
            elif above is not None and (plan_id, metric_id, services.node_key(above, row.values["_line"])) in has_lines:
                parent = above
            groups[(plan_id, metric_id, row.values["_line"], parent.pk if parent else None, None if parent
                    else row.line)].append(row)
        return [(group, units[key[3]] if key[3] else None) for key, group in groups.items()]

    def _write_group(self, group: list[ImportRow], parent: OrgUnit | None, by: User | None,
                     ctx: ImportContext) -> None:
        first = group[0]
        plan, metric, line_id = first.values["_plan"], first.values["_metric"], first.values["_line"]
        try:
            if parent is None:
                services.target_set(plan=plan, metric=metric, node=first.values["_node"],
                                    amounts=first.values["_amounts"], product_line_id=line_id, by=by)
            else:
                services.target_decompose(plan=plan, metric=metric, parent=parent, product_line_id=line_id, by=by,
                                          children={r.values["_node"]: r.values["_amounts"] for r in group})
        except ValidationError as exc:
            name, messages = next(iter(validation_error_dict(exc).items()))
            field = {"status": "year", "amounts": "m1"}.get(name, "node")
            ctx.memo["target_rejected"] = first.line
            raise RowProblem(first, field, "; ".join(messages)) from None


register(TargetImport())
