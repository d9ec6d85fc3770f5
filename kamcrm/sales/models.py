"""Sales (K3, K16): the stage path, opportunities with their lines, contacts and collaborators, and the
history of every stage change (who, when, the amount then), from which the pipeline of any past date
is rebuilt."""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from kamcrm.core.models import ExternalIdModel, TimeStampedModel
from kamcrm.sales.choices import OpportunitySource, RuleKind, RulePeriod, StageKind


class Stage(TimeStampedModel):
    """A step of the stage path. Administrators edit names, order, probabilities and rules; `kind`
    says what a stage means (open, won, lost) and never changes for a stage in use."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60)
    kind = models.CharField(_("kind"), max_length=10, choices=StageKind.choices, default=StageKind.OPEN)
    order = models.PositiveSmallIntegerField(_("order"), help_text=_("Open stages in the order a deal goes through them."))
    default_probability = models.PositiveSmallIntegerField(_("default probability (%)"),
                                                           validators=[MaxValueValidator(100)])
    # Fields an opportunity must have filled to enter this stage, e.g. ["expected_close_date"].
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    # ExitCriterion codes checked when an opportunity moves forward out of this stage.
    exit_criteria = models.JSONField(_("exit criteria"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        from django.utils.translation import get_language

        return self.name_zh if (get_language() or "").startswith("zh") else self.name_en

    @property
    def is_closed(self) -> bool:
        return self.kind != StageKind.OPEN


class Opportunity(TimeStampedModel, ExternalIdModel):
    ACCOUNT_PATH = "account__"

    account = models.ForeignKey("customers.Account", verbose_name=_("account"), on_delete=models.PROTECT,
                                related_name="opportunities")
    name = models.CharField(_("name"), max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="opportunities")
    # The owner's unit when ownership was set (as Account.owner_unit): a unit's pipeline is one indexed filter.
    owner_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("owning unit"), on_delete=models.PROTECT,
                                   related_name="opportunities", editable=False)
    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities")
    stage_entered_at = models.DateTimeField(_("in this stage since"))
    probability = models.PositiveSmallIntegerField(_("probability (%)"), validators=[MaxValueValidator(100)])
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, default=Decimal("0"),
                                 validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(_("currency"), max_length=3, default=settings.CURRENCY)
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=OpportunitySource.choices, blank=True)
    competitor = models.CharField(_("competitor"), max_length=100, blank=True)
    lost_reason = models.CharField(_("reason lost or abandoned"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    contacts = models.ManyToManyField("customers.Contact", verbose_name=_("contacts involved"), blank=True,
                                      related_name="opportunities")
    collaborators = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("collaborators"), blank=True,
                                           related_name="collaborating_opportunities",
                                           help_text=_("Colleagues from any unit, or partners, who help win it."))
    attributes = models.JSONField(_("custom attributes"), default=dict, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        constraints = [
            *ExternalIdModel.Meta.constraints,
            models.CheckConstraint(condition=Q(amount__gte=0), name="sales_opportunity_amount_not_negative"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="sales_opportunity_probability_max_100"),
        ]
        indexes = [
            models.Index(fields=["stage", "owner_unit"], name="opp_stage_unit"),
            # The funnel's count and amount per stage and probability, read from the index alone.
            models.Index(fields=["stage", "probability", "amount"], name="opp_stage_prob_amount"),
            models.Index(fields=["owner", "stage"], name="opp_owner_stage"),
            models.Index(fields=["account", "-updated_at"], name="opp_account_updated"),
            models.Index(fields=["owner_unit", "expected_close_date"], name="opp_unit_close"),
            models.Index(fields=["expected_close_date", "id"], name="opp_close_id"),
            models.Index(fields=["-updated_at", "-id"], name="opp_updated_id"),
            models.Index(fields=["-amount", "-id"], name="opp_amount_id"),
            models.Index(fields=["name", "id"], name="opp_name_id"),
            # targets: won value by month (completion, the unit × month grid)
            models.Index(fields=["closed_on"], name="opp_closed_on", condition=Q(closed_on__isnull=False)),
            # targets: won value by close day and owning unit, read from the index alone (completion)
            models.Index(fields=["stage", "closed_on", "owner_unit", "amount"], name="opp_stage_closed_value",
                         condition=Q(closed_on__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def also_visible_to(cls, user, action: str, *, listing: bool = False) -> Q | None:  # noqa: ANN001
        """Collaborators see the opportunity they help with, wherever they sit (org.selectors.visible);
        seeing it does not let them change it. For a listing, the user's collaborations are named by id
        when they are few, as the accounts are: a subquery tested on every row walked costs an index
        probe each."""
        if action != "view" or not getattr(user, "pk", None):
            return None
        mine = cls.collaborators.through.objects.filter(user_id=user.pk)
        if listing:
            from kamcrm.org.selectors import ACCOUNT_IDS_LISTED, per_request

            ids = per_request(("collaborations", user.pk), lambda: list(
                mine.order_by().values_list("opportunity_id", flat=True)[: ACCOUNT_IDS_LISTED + 1]))
            if len(ids) <= ACCOUNT_IDS_LISTED:
                return Q(pk__in_ids=ids) if ids else None
        return Q(Exists(mine.filter(opportunity_id=OuterRef("pk"))))

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / Decimal(100)).quantize(Decimal("0.01"))


class OpportunityLine(models.Model):
    ACCOUNT_PATH = "opportunity__account__"

    opportunity = models.ForeignKey(Opportunity, verbose_name=_("opportunity"), on_delete=models.CASCADE,
                                    related_name="lines")
    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.PROTECT,
                                related_name="opportunity_lines")
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2, default=Decimal("1"),
                                   validators=[MinValueValidator(Decimal("0"))])
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2,
                                     validators=[MinValueValidator(Decimal("0"))])
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)

    class Meta:
        ordering = ["id"]
        verbose_name = _("opportunity line")
        verbose_name_plural = _("opportunity lines")
        indexes = [models.Index(fields=["product", "opportunity"], name="oppline_product_opp")]

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"


class OpportunityStageChange(models.Model):
    """One entry into a stage (the first is the opportunity's creation). Never deleted, and changed only
    once: when the opportunity leaves the stage, `left_at` and `seconds_in_stage` are filled in. The
    pipeline of any past date is the last entry of each opportunity up to that date."""

    ACCOUNT_PATH = "opportunity__account__"

    opportunity = models.ForeignKey(Opportunity, verbose_name=_("opportunity"), on_delete=models.CASCADE,
                                    related_name="stage_changes")
    from_stage = models.ForeignKey(Stage, verbose_name=_("from stage"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    to_stage = models.ForeignKey(Stage, verbose_name=_("to stage"), on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(_("when"))
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    # The opportunity as it stood at that moment.
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    probability = models.PositiveSmallIntegerField(_("probability (%)"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="+")
    owner_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("owning unit"), on_delete=models.PROTECT,
                                   related_name="+")
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)
    seconds_in_stage = models.BigIntegerField(_("seconds in stage"), null=True, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        indexes = [
            models.Index(fields=["opportunity", "changed_at", "id"], name="stagechange_opp_time"),
            # The funnel's furthest stage per opportunity and days in stage, read from the index alone.
            models.Index(fields=["opportunity", "to_stage", "seconds_in_stage"], name="stagechange_opp_stage_secs"),
            models.Index(fields=["changed_at", "id"], name="stagechange_time"),
            models.Index(fields=["to_stage", "seconds_in_stage"], name="stagechange_stage_duration"),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"


class FunnelRule(TimeStampedModel):
    """A funnel health check for a unit's (and optionally a product line's) pipeline. When it fires it
    raises a FunnelAlert (once per period) and gives the follow-up task to `task_owner`."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("check"), max_length=20, choices=RuleKind.choices)
    unit = models.ForeignKey("org.OrgUnit", verbose_name=_("unit"), null=True, blank=True, on_delete=models.CASCADE,
                             related_name="funnel_rules", help_text=_("Empty: the whole company."))
    product_line = models.ForeignKey("products.ProductLine", verbose_name=_("product line"), null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="funnel_rules")
    # thin_top: {"k": 3, "top_stages": 2}; low_conversion: {"stage": "relationship", "periods": 6};
    # stale_deals: {"percentile": 75}; no_activity: {"days": 30}
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    period = models.CharField(_("period"), max_length=10, choices=RulePeriod.choices, default=RulePeriod.MONTH)
    task_owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("task for"), on_delete=models.PROTECT,
                                   related_name="+", help_text=_("Who gets the follow-up task, e.g. marketing when "
                                                                 "the top of the funnel is thin."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("funnel health rule")
        verbose_name_plural = _("funnel health rules")

    def __str__(self) -> str:
        return self.name


class FunnelAlert(models.Model):
    """One firing of a rule in one period, with what was measured and the records behind it."""

    rule = models.ForeignKey(FunnelRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="alerts")
    period_key = models.CharField(_("period"), max_length=10, help_text="2026-11 or 2026-W48")
    raised_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    metric = models.CharField(_("metric"), max_length=100)
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=4)
    threshold = models.DecimalField(_("threshold"), max_digits=20, decimal_places=4)
    opportunity_ids = models.JSONField(_("opportunities behind it"), default=list)
    task = models.ForeignKey("activities.Task", verbose_name=_("task"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("funnel health alert")
        verbose_name_plural = _("funnel health alerts")
        constraints = [models.UniqueConstraint(fields=["rule", "period_key"], name="sales_alert_once_per_period")]

    def __str__(self) -> str:
        return f"{self.rule} {self.period_key}"


class FunnelRollup(models.Model):
    """What the current funnel reads (sales.rollup): per stage, the opportunities of one combination of
    opportunity owner and unit (the funnel's filters) and account owner, unit and region (visibility,
    as org.selectors.account_q tests them), added up. Tens of thousands of rows where there are
    millions of opportunities. Kept by the sales and account services in the same transaction, by
    adding each change's difference; a combination may have more than one row (two transactions
    that both found none), so readers always SUM.

    Per stage: n, cents and weighted (Σ cents × probability) of the opportunities now in it; furthest,
    the opportunities whose furthest open-or-won stage it is; stay_seconds and stays, their completed
    stays in it."""

    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="+")
    owner_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("owning unit"), on_delete=models.PROTECT,
                                   related_name="+")
    account_owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account manager"),
                                      on_delete=models.PROTECT, related_name="+")
    account_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("account's owning unit"),
                                     on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey("org.OrgUnit", verbose_name=_("region"), on_delete=models.PROTECT, related_name="+")
    n = models.BigIntegerField(default=0)
    cents = models.BigIntegerField(default=0)
    weighted = models.BigIntegerField(default=0)
    furthest = models.BigIntegerField(default=0)
    stay_seconds = models.BigIntegerField(default=0)
    stays = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("funnel roll-up")
        verbose_name_plural = _("funnel roll-ups")
        indexes = [models.Index(fields=["account_owner", "stage"], name="funnelrollup_acct_owner")]

    def __str__(self) -> str:
        return f"{self.stage_id} {self.owner_id}/{self.account_owner_id}"


class PipelineRollup(models.Model):
    """The open pipeline by expected close month (sales.rollup), for target completion's weighted
    pipeline (targets.selectors.weighted_pipeline): per owner, owning unit and month, the open
    opportunities expected to close in it — n, cents and weighted (Σ cents × probability). Kept with
    the funnel roll-up by the same services, in the same transaction; readers always SUM (a key may
    have more than one row)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="+")
    owner_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("owning unit"), on_delete=models.PROTECT,
                                   related_name="+")
    close_month = models.DateField(_("expected close month"))  # the first day of the month
    n = models.BigIntegerField(default=0)
    cents = models.BigIntegerField(default=0)
    weighted = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("pipeline roll-up")
        verbose_name_plural = _("pipeline roll-ups")
        indexes = [models.Index(fields=["close_month", "owner_unit"], name="pipelinerollup_month_unit"),
                   models.Index(fields=["owner", "close_month"], name="pipelinerollup_owner_month")]

    def __str__(self) -> str:
        return f"{self.close_month:%Y-%m} {self.owner_id}"
