"""Action plans (POA) and their PDCA cycles (K8, issue 6 item 4).

An ActionPlan is about exactly one subject: an account, an opportunity, an organisation unit or a person
(`kind` says which; a CHECK constraint keeps `kind` and the one foreign key set in step). It runs in
cycles (PlanCycle, numbered 1, 2, …): plan → do → check → act → closed. A cycle carries objectives tied
to live figures (Objective: a targets.Metric, optionally narrowed to a product line, with a target value;
the scope is the plan's subject) and actions with owners, due dates and status (Action). The check step
snapshots plan versus actual into `check_figures`; the act step records feedback, and the next cycle
cannot open before it is recorded (services.cycle_open).

Who sees a plan (selectors.plan_queryset): account and opportunity plans whoever sees the account or the
opportunity (org.selectors.visible); unit and person plans whoever's reach covers that unit or person
(their manager chain, the subtrees they head or see by role) and the person themselves; and the plan's owner.
"""
import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kamcrm.core.models import TimeStampedModel
from kamcrm.poa.choices import (
    ActionStatus,
    CycleStatus,
    SubjectKind,
    WeeklyItemKind,
    WeeklyStatus,
)

SUBJECT_FIELDS = ("account", "opportunity", "unit", "person")


def _only(kind: str) -> Q:
    q = Q(kind=kind)
    for name in SUBJECT_FIELDS:
        q &= Q(**{f"{name}__isnull": name != kind})
    return q


class ActionPlan(TimeStampedModel):
    kind = models.CharField(_("subject kind"), max_length=20, choices=SubjectKind.choices)
    account = models.ForeignKey("customers.Account", verbose_name=_("account"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="action_plans")
    opportunity = models.ForeignKey("sales.Opportunity", verbose_name=_("opportunity"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="action_plans")
    unit = models.ForeignKey("org.OrgUnit", verbose_name=_("unit"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="action_plans")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("person"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="action_plans_about")
    title = models.CharField(_("title"), max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="action_plans")
    # The status of the latest cycle ("" before the first cycle opens), kept by the services for the list filter.
    status = models.CharField(_("status"), max_length=20, blank=True, default="", choices=CycleStatus.choices)
    cycle_count = models.PositiveSmallIntegerField(_("cycles"), default=0)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("action plan")
        verbose_name_plural = _("action plans")
        constraints = [
            models.CheckConstraint(
                condition=_only(SubjectKind.ACCOUNT) | _only(SubjectKind.OPPORTUNITY) | _only(SubjectKind.UNIT)
                | _only(SubjectKind.PERSON),
                name="poa_plan_exactly_one_subject"),
        ]
        indexes = [
            models.Index(fields=["kind", "id"], name="poa_plan_kind_id"),
            models.Index(fields=["status", "id"], name="poa_plan_status_id"),
            models.Index(fields=["kind", "status", "id"], name="poa_plan_kind_status_id"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def subject(self):
        return getattr(self, self.kind, None) if self.kind in SUBJECT_FIELDS else None


class PlanCycle(TimeStampedModel):
    plan = models.ForeignKey(ActionPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="cycles")
    number = models.PositiveSmallIntegerField(_("cycle"))
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    status = models.CharField(_("status"), max_length=20, choices=CycleStatus.choices, default=CycleStatus.PLAN)
    # The check step: plan versus actual per objective, as computed from the live figures at `checked_at`.
    check_figures = models.JSONField(_("check figures"), default=dict, blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("checked by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    # The act step: what was learnt and what changes in the next cycle.
    feedback = models.TextField(_("feedback"), blank=True)
    feedback_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("feedback recorded by"), null=True,
                                    blank=True, on_delete=models.SET_NULL, related_name="+")
    feedback_at = models.DateTimeField(_("feedback recorded at"), null=True, blank=True)

    class Meta:
        ordering = ["plan", "number"]
        verbose_name = _("plan cycle")
        verbose_name_plural = _("plan cycles")
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="poa_cycle_plan_number"),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")),
                                   name="poa_cycle_period_ordered"),
            models.CheckConstraint(condition=~Q(status=CycleStatus.CLOSED) | Q(feedback_at__isnull=False),
                                   name="poa_cycle_closed_has_feedback"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} #{self.number}"

    @property
    def feedback_recorded(self) -> bool:
        return self.feedback_at is not None


class Objective(models.Model):
    cycle = models.ForeignKey(PlanCycle, verbose_name=_("cycle"), on_delete=models.CASCADE,
                              related_name="objectives")
    metric = models.ForeignKey("targets.Metric", verbose_name=_("metric"), on_delete=models.PROTECT,
                               related_name="+")
    product_line = models.ForeignKey("products.ProductLine", verbose_name=_("product line"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    target = models.DecimalField(_("target"), max_digits=18, decimal_places=2, default=Decimal("0"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["cycle", "id"]
        verbose_name = _("objective")
        verbose_name_plural = _("objectives")
        constraints = [models.CheckConstraint(condition=Q(target__gte=0), name="poa_objective_target_not_negative")]

    def __str__(self) -> str:
        return f"{self.cycle_id} {self.metric_id} {self.target}"


class Action(TimeStampedModel):
    cycle = models.ForeignKey(PlanCycle, verbose_name=_("cycle"), on_delete=models.CASCADE, related_name="actions")
    title = models.CharField(_("title"), max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="poa_actions")
    due_on = models.DateField(_("due date"))
    status = models.CharField(_("status"), max_length=20, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        constraints = [
            models.CheckConstraint(condition=~Q(status=ActionStatus.DONE) | Q(done_at__isnull=False),
                                   name="poa_action_done_has_done_at"),
        ]
        indexes = [models.Index(fields=["owner", "status", "due_on"], name="poa_action_owner_open_due")]

    def __str__(self) -> str:
        return self.title


class WeeklyPlan(TimeStampedModel):
    """One sales person's plan for one ISO week and, at the week's end, their report on it (K8, issue 6
    item 4): draft → submitted (the report is in) → reviewed (a manager commented). The plan is "in" once
    shared (`plan_submitted_at`). `figures` keeps the live figures of the week as they were when the
    report was submitted; the pages show the live ones next to them."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.PROTECT,
                               related_name="weekly_plans")
    year = models.PositiveSmallIntegerField(_("year"))  # the ISO year, which may differ from the calendar year
    week = models.PositiveSmallIntegerField(_("week"))
    week_start = models.DateField(_("week starts"))  # the Monday; derived from year and week by the services
    status = models.CharField(_("status"), max_length=20, choices=WeeklyStatus.choices, default=WeeklyStatus.DRAFT)
    plan_submitted_at = models.DateTimeField(_("plan shared at"), null=True, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    next_focus = models.TextField(_("next week's focus"), blank=True)
    figures = models.JSONField(_("figures at submission"), default=dict, blank=True)
    submitted_at = models.DateTimeField(_("report submitted at"), null=True, blank=True)
    review_comment = models.TextField(_("manager's comment"), blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        ordering = ["-week_start", "person_id"]
        verbose_name = _("weekly plan")
        verbose_name_plural = _("weekly plans")
        constraints = [
            models.UniqueConstraint(fields=["person", "year", "week"], name="poa_weekly_person_week"),
            models.CheckConstraint(condition=Q(week__gte=1, week__lte=53), name="poa_weekly_week_1_53"),
            models.CheckConstraint(condition=Q(status=WeeklyStatus.DRAFT) | Q(submitted_at__isnull=False),
                                   name="poa_weekly_submitted_has_time"),
            models.CheckConstraint(condition=~Q(status=WeeklyStatus.REVIEWED) | Q(reviewed_at__isnull=False),
                                   name="poa_weekly_reviewed_has_time"),
        ]
        indexes = [models.Index(fields=["week_start", "person"], name="poa_weekly_week_person")]

    def __str__(self) -> str:
        return f"{self.person} {self.year}-W{self.week:02d}"

    @property
    def week_label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def week_end(self) -> dt.date:
        return self.week_start + dt.timedelta(days=6)


class WeeklyItem(TimeStampedModel):
    """One planned item of a week (a visit, a call, an opportunity to advance, …), optionally about an
    account or an opportunity, and what came of it (`done`: None until reported)."""

    ACCOUNT_PATH = "account__"

    weekly = models.ForeignKey(WeeklyPlan, verbose_name=_("weekly plan"), on_delete=models.CASCADE,
                               related_name="items")
    kind = models.CharField(_("kind"), max_length=20, choices=WeeklyItemKind.choices, default=WeeklyItemKind.OTHER)
    title = models.CharField(_("what"), max_length=200)
    account = models.ForeignKey("customers.Account", verbose_name=_("account"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    opportunity = models.ForeignKey("sales.Opportunity", verbose_name=_("opportunity"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    done = models.BooleanField(_("done"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["weekly", "position", "id"]
        verbose_name = _("weekly plan item")
        verbose_name_plural = _("weekly plan items")

    def __str__(self) -> str:
        return self.title
