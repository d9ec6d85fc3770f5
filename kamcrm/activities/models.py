"""Tasks: things a person must do by a date, made by hand or by the system (e.g. a funnel health alert),
optionally about an account or an opportunity."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kamcrm.activities.choices import PlanStatus, TaskSource, TaskStatus, VisitStatus
from kamcrm.core.models import TimeStampedModel


class Task(TimeStampedModel):
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assignee"), on_delete=models.PROTECT,
                                 related_name="tasks")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    due_on = models.DateField(_("due on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=TaskSource.choices, default=TaskSource.MANUAL)
    account = models.ForeignKey("customers.Account", verbose_name=_("account"), null=True, blank=True,
                                on_delete=models.CASCADE, related_name="tasks")
    opportunity = models.ForeignKey("sales.Opportunity", verbose_name=_("opportunity"), null=True, blank=True,
                                    on_delete=models.CASCADE, related_name="tasks")

    class Meta:
        ordering = ["status", "due_on", "id"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["assignee", "status", "due_on", "id"], name="task_assignee_status_due"),
            models.Index(fields=["opportunity", "status"], name="task_opportunity_status"),
        ]

    def __str__(self) -> str:
        return self.title


class SalesPlan(TimeStampedModel):
    """A sales person's plan for an account or an opportunity (K7): what to achieve by when, the steps,
    the colleagues who must help and the products it is about."""

    ACCOUNT_PATH = "account__"

    title = models.CharField(_("title"), max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="sales_plans")
    account = models.ForeignKey("customers.Account", verbose_name=_("account"), on_delete=models.CASCADE,
                                related_name="sales_plans")
    opportunity = models.ForeignKey("sales.Opportunity", verbose_name=_("opportunity"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="sales_plans")
    deadline = models.DateField(_("deadline"))
    helpers = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("colleagues who help"), blank=True,
                                     related_name="helping_sales_plans")
    products = models.ManyToManyField("products.Product", verbose_name=_("products"), blank=True,
                                      related_name="sales_plans")
    steps = models.TextField(_("steps"), blank=True, help_text=_("One step per line."))
    status = models.CharField(_("status"), max_length=10, choices=PlanStatus.choices, default=PlanStatus.OPEN)

    class Meta:
        ordering = ["deadline", "id"]
        verbose_name = _("sales plan")
        verbose_name_plural = _("sales plans")
        indexes = [models.Index(fields=["owner", "status", "deadline"], name="salesplan_owner_status"),
                   models.Index(fields=["account", "deadline"], name="salesplan_account_deadline")]

    def __str__(self) -> str:
        return self.title

    @property
    def step_list(self) -> list[str]:
        return [s.strip() for s in self.steps.splitlines() if s.strip()]


class Visit(TimeStampedModel):
    """A planned customer visit (date, time, contacts to meet, purpose, preparation) and, once made, its
    outcome and next step. Recording it logs a visit on the account's timeline."""

    ACCOUNT_PATH = "account__"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("visitor"), on_delete=models.PROTECT,
                              related_name="visits")
    account = models.ForeignKey("customers.Account", verbose_name=_("account"), on_delete=models.CASCADE,
                                related_name="visits")
    opportunity = models.ForeignKey("sales.Opportunity", verbose_name=_("opportunity"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="visits")
    sales_plan = models.ForeignKey(SalesPlan, verbose_name=_("sales plan"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="visits")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    location = models.CharField(_("location"), max_length=200, blank=True)
    contacts = models.ManyToManyField("customers.Contact", verbose_name=_("contacts to meet"), blank=True,
                                      related_name="visits")
    purpose = models.CharField(_("purpose"), max_length=200)
    preparation = models.TextField(_("preparation"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=VisitStatus.choices, default=VisitStatus.PLANNED)
    outcome = models.TextField(_("outcome"), blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        constraints = [models.CheckConstraint(condition=models.Q(ends_at__gte=models.F("starts_at")),
                                              name="activities_visit_ends_after_start")]
        indexes = [models.Index(fields=["owner", "starts_at"], name="visit_owner_start"),
                   models.Index(fields=["account", "-starts_at"], name="visit_account_start")]

    def __str__(self) -> str:
        return self.purpose


class CalendarFeed(models.Model):
    """The secret address of a person's iCalendar feed (visits and task due dates), for their phone or
    Outlook; replacing the token revokes the old address."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"{self.user}"
