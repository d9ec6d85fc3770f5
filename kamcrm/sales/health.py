"""Funnel health rules (K3): checks on a unit's pipeline that raise an alert with the metric, the
threshold and the records behind it, and give a follow-up task to the rule's owner.

Each rule fires at most once per period (a unique (rule, period) row), whenever the check runs:
`kamcrm funnel_health` from a daily timer, or the demo. Nothing is computed on page views.

The checks, on the opportunities of the rule's unit subtree (owning unit) and product line:
- thin_top: the amount in the first `top_stages` open stages (default 2) is below `k` (default 3) ×
  the remaining gap: this year's product-plan target for the unit's regions (and line) minus what
  was won this year. No plan target, no check.
- low_conversion: of the opportunities that entered `stage` in the last complete period, the share
  that has moved further (by now) is below the median of the `periods` (default 6) periods before it.
- stale_deals: open deals in a stage for longer than the `percentile` (default 75th) of the completed
  stays in that stage.
- no_activity: open deals with no stage change and no logged interaction on their account for `days`
  (default 30).
"""
from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.activities.choices import TaskSource
from kamcrm.activities.services import task_create
from kamcrm.customers.models import Interaction
from kamcrm.products.models import ProductPlan
from kamcrm.sales.choices import RuleKind, RulePeriod, StageKind
from kamcrm.sales.models import (
    FunnelAlert,
    FunnelRule,
    Opportunity,
    OpportunityLine,
    OpportunityStageChange,
    Stage,
)

__all__ = ["can_maintain_rules", "funnel_health_check", "funnel_rule_check", "funnel_rule_save", "period_bounds",
           "period_key"]

MAX_IDS = 500


@dataclass
class Finding:
    metric: str
    value: Decimal
    threshold: Decimal
    ids: list[int] = field(default_factory=list)


def period_key(period: str, day: dt.date) -> str:
    if period == RulePeriod.WEEK:
        year, week, _weekday = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day:%Y-%m}"


def period_bounds(period: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the period holding `day`."""
    if period == RulePeriod.WEEK:
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=6)
    start = day.replace(day=1)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    return start, following - dt.timedelta(days=1)


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")


def _aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _scope(rule: FunnelRule) -> QuerySet[Opportunity]:
    qs = Opportunity.objects.all()
    if rule.unit_id:
        qs = qs.filter(owner_unit__path__startswith=rule.unit.path)
    if rule.product_line_id:
        qs = qs.filter(Exists(OpportunityLine.objects.filter(opportunity_id=OuterRef("pk"),
                                                             product__line_id=rule.product_line_id)))
    return qs


def _open_stages() -> list[Stage]:
    return list(Stage.objects.filter(kind=StageKind.OPEN, is_active=True).order_by("order", "id"))


def _thin_top(rule: FunnelRule, today: dt.date) -> Finding | None:
    plans = ProductPlan.objects.filter(year=today.year, target_amount__isnull=False)
    if rule.unit_id:
        plans = plans.filter(region__path__startswith=rule.unit.path)
    if rule.product_line_id:
        plans = plans.filter(line_id=rule.product_line_id)
    target = plans.aggregate(total=Sum("target_amount"))["total"]
    if not target:
        return None
    scope = _scope(rule)
    won = scope.filter(stage__kind=StageKind.WON, closed_on__year=today.year).aggregate(s=Sum("amount"))["s"] or 0
    gap = max(Decimal(0), Decimal(target) - Decimal(won))
    if not gap:
        return None
    top_stages = _open_stages()[: int(rule.params.get("top_stages", 2))]
    top = scope.filter(stage__in=top_stages)
    amount = Decimal(top.aggregate(s=Sum("amount"))["s"] or 0)
    threshold = Decimal(str(rule.params.get("k", 3))) * gap
    if amount >= threshold:
        return None
    return Finding(_("top-of-funnel amount"), amount, threshold, list(top.values_list("pk", flat=True)[:MAX_IDS]))


def _conversion(scope: QuerySet, stage: Stage, start: dt.date, end: dt.date) -> tuple[float | None, list[int]]:
    """Of the opportunities that entered `stage` between start and end, the share that moved further."""
    entered = OpportunityStageChange.objects.filter(
        opportunity__in=scope.values("pk"), to_stage=stage, changed_at__gte=_aware(start),
        changed_at__lt=_aware(end + dt.timedelta(days=1))).values_list("opportunity_id", flat=True).distinct()
    ids = list(entered)
    if not ids:
        return None, []
    furthest = dict(OpportunityStageChange.objects.filter(
        opportunity_id__in=ids, to_stage__kind__in=[StageKind.OPEN, StageKind.WON]).values("opportunity_id")
        .annotate(top=Max("to_stage__order")).values_list("opportunity_id", "top"))
    stuck = [pk for pk in ids if furthest.get(pk, 0) <= stage.order]
    return (len(ids) - len(stuck)) / len(ids), stuck


def _low_conversion(rule: FunnelRule, today: dt.date) -> Finding | None:
    stage = Stage.objects.filter(code=rule.params.get("stage", "relationship")).first()
    if stage is None:
        return None
    scope = _scope(rule)
    start, _end = period_bounds(rule.period, today)
    windows = []
    for _n in range(int(rule.params.get("periods", 6)) + 1):
        last = start - dt.timedelta(days=1)
        start, end = period_bounds(rule.period, last)
        windows.append((start, end))
    current, stuck = _conversion(scope, stage, *windows[0])
    history = [c for c in (_conversion(scope, stage, *w)[0] for w in windows[1:]) if c is not None]
    if current is None or len(history) < 3:
        return None
    median = statistics.median(history)
    if current >= median:
        return None
    return Finding(_("conversion from “%(s)s”") % {"s": stage.label}, Decimal(str(round(current, 4))),
                   Decimal(str(round(median, 4))), stuck[:MAX_IDS])


def _stale(rule: FunnelRule, today: dt.date) -> Finding | None:
    scope = _scope(rule)
    now = _aware(today + dt.timedelta(days=1))
    share = int(rule.params.get("percentile", 75)) / 100
    ids: list[int] = []
    for stage in _open_stages():
        stays = OpportunityStageChange.objects.filter(opportunity__in=scope.values("pk"), to_stage=stage,
                                                      seconds_in_stage__isnull=False)
        n = stays.count()
        if n < 4:
            continue  # too few completed stays to say what is normal
        index = min(n - 1, int(share * (n - 1) + 0.5))
        limit = stays.order_by("seconds_in_stage").values_list("seconds_in_stage", flat=True)[index]
        cutoff = now - dt.timedelta(seconds=limit)
        ids += list(scope.filter(stage=stage, stage_entered_at__lt=cutoff).values_list("pk", flat=True)[:MAX_IDS])
    if not ids:
        return None
    return Finding(_("deals older than the stage's usual stay"), Decimal(len(ids)), Decimal(0), ids[:MAX_IDS])


def _no_activity(rule: FunnelRule, today: dt.date) -> Finding | None:
    days = int(rule.params.get("days", 30))
    cutoff = _aware(today - dt.timedelta(days=days))
    recent = Interaction.objects.filter(account_id=OuterRef("account_id"), occurred_at__gte=cutoff)
    quiet = (_scope(rule).filter(stage__kind=StageKind.OPEN, stage_entered_at__lt=cutoff)
             .exclude(Exists(recent)))
    ids = list(quiet.values_list("pk", flat=True)[:MAX_IDS])
    if not ids:
        return None
    return Finding(_("open deals without activity for %(n)d days") % {"n": days}, Decimal(quiet.count()),
                   Decimal(0), ids)


CHECKS = {
    RuleKind.THIN_TOP: _thin_top,
    RuleKind.LOW_CONVERSION: _low_conversion,
    RuleKind.STALE_DEALS: _stale,
    RuleKind.NO_ACTIVITY: _no_activity,
}


def funnel_health_check(*, today: dt.date | None = None, rules: QuerySet[FunnelRule] | None = None
                        ) -> list[FunnelAlert]:
    """Run every active rule that has not fired in its current period; return the alerts raised."""
    today = today or timezone.localdate()
    raised = []
    rules = (rules if rules is not None else FunnelRule.objects.filter(is_active=True)).select_related(
        "unit", "task_owner", "product_line")
    for rule in rules:
        key = period_key(rule.period, today)
        if FunnelAlert.objects.filter(rule=rule, period_key=key).exists():
            continue
        finding = CHECKS[rule.kind](rule, today)
        if finding is None:
            continue
        try:
            with transaction.atomic():
                task = task_create(
                    title=_("%(rule)s: %(metric)s") % {"rule": rule.name, "metric": finding.metric},
                    description=_("%(metric)s is %(value)s; threshold %(threshold)s; %(n)d opportunities behind it.")
                    % {"metric": finding.metric, "value": _plain(finding.value), "n": len(finding.ids),
                       "threshold": _plain(finding.threshold)},
                    assignee=rule.task_owner, due_on=today + dt.timedelta(days=7), source=TaskSource.FUNNEL_ALERT)
                raised.append(FunnelAlert.objects.create(
                    rule=rule, period_key=key, metric=finding.metric[:100], value=finding.value,
                    threshold=finding.threshold, opportunity_ids=finding.ids, task=task))
        except IntegrityError:  # another run raised it first: once per period holds
            continue
    return raised


# --- maintaining the rules (administrators and business management) -----------------------------------

RULE_FIELDS = ["name", "kind", "unit", "product_line", "params", "period", "task_owner", "is_active"]
PARAM_KEYS = {
    RuleKind.THIN_TOP: {"k": float, "top_stages": int},
    RuleKind.LOW_CONVERSION: {"stage": str, "periods": int},
    RuleKind.STALE_DEALS: {"percentile": int},
    RuleKind.NO_ACTIVITY: {"days": int},
}


def can_maintain_rules(user) -> bool:  # noqa: ANN001
    """Who maintains the rules (org.selectors.manages_business_settings)."""
    from kamcrm.org.selectors import manages_business_settings

    return manages_business_settings(user)


def _check_rule(data: dict) -> dict:
    from django.core.exceptions import ValidationError

    kind = data.get("kind")
    params = {k: v for k, v in (data.get("params") or {}).items() if v not in (None, "")}
    allowed = PARAM_KEYS.get(kind, {})
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValidationError({"params": _("This check does not use %(p)s.") % {"p": ", ".join(unknown)}})
    if kind == RuleKind.LOW_CONVERSION and params.get("stage") and not Stage.objects.filter(
            code=params["stage"], kind=StageKind.OPEN).exists():
        raise ValidationError({"params": _("“%(s)s” is not an open stage.") % {"s": params["stage"]}})
    for key, value in params.items():
        if allowed[key] is not str and (not isinstance(value, int | float) or value <= 0):
            raise ValidationError({"params": _("%(p)s must be a number above zero.") % {"p": key}})
        low, high = PARAM_LIMITS.get(key, (None, None))
        if low is not None and value < low:
            raise ValidationError({"params": _("%(p)s must be at least %(n)s.") % {"p": key, "n": low}})
        if high is not None and value > high:
            raise ValidationError({"params": _("%(p)s must be at most %(n)s.") % {"p": key, "n": high}})
    return {**data, "params": params}


# What a check needs to mean something (a median of fewer than 3 periods, a percentile below the
# median): the one place for these limits, shared by the rule form and the API.
PARAM_LIMITS: dict[str, tuple[float | None, float | None]] = {
    "k": (0.1, None), "top_stages": (1, None), "periods": (3, None), "percentile": (50, 99), "days": (1, None)}


@transaction.atomic
def funnel_rule_save(*, rule: FunnelRule | None = None, data: dict, by=None) -> FunnelRule:  # noqa: ANN001
    """Create or change a rule; its parameters are checked against what its check uses. A change that
    leaves out the check or its parameters (an API PATCH) keeps the rule's own."""
    from kamcrm.core.services import model_update

    data = _check_rule({**({f: getattr(rule, f) for f in ("kind", "params")} if rule else {}), **data})
    if rule is None:
        rule = FunnelRule(**data)
        rule.full_clean()
        rule.save()
        return rule
    rule, _changed = model_update(instance=rule, fields=RULE_FIELDS, data=data)
    return rule


def funnel_rule_check(*, rule: FunnelRule, by, today: dt.date | None = None) -> list[FunnelAlert]:  # noqa: ANN001
    """"Check now": run one rule as the daily run would (as a job, on behalf of `by`); it still fires at
    most once per period, so a second check in the same period raises nothing."""
    from kamcrm.core.context import Channel, change_context

    with change_context(channel=Channel.JOB, actor=by, job_id="funnel-health"):
        return funnel_health_check(today=today, rules=FunnelRule.objects.filter(pk=rule.pk))
