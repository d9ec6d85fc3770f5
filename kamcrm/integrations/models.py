"""Integrations: other systems that talk to the CRM, their API tokens, and the events they post.

An `Integration` is one other system (billing, the business support system, a data platform...).
It acts through its own service `User` (see docs/decisions/0004-integration-tokens.md) and
authenticates with `ApiToken`s, each stored only as a SHA-256 hash with a short visible prefix.
`InboundEvent` is one business event posted to `POST /api/v1/events/`; it lands on the account's
timeline in the same transaction.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kamcrm.core.models import TimeStampedModel


class TokenScope(models.TextChoices):
    READ = "read", _("read")
    WRITE = "write", _("write")
    IMPORT = "import", _("import")
    EVENTS = "events", _("events")


class EventType(models.TextChoices):
    BILL_ISSUED = "bill_issued", _("bill issued")
    PAYMENT_RECEIVED = "payment_received", _("payment received")
    USAGE_RECORDED = "usage_recorded", _("usage recorded")
    SERVICE_REQUEST_OPENED = "service_request_opened", _("service request opened")
    COMPLAINT_LOGGED = "complaint_logged", _("complaint logged")


class Integration(TimeStampedModel):
    """Another system. Its `code` is the `source_system` of the records it feeds."""

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("source system"), max_length=40, unique=True,
                            help_text=_("Short code of the other system, e.g. billing; used as the source "
                                        "system of the records it feeds."))
    description = models.TextField(_("description"), blank=True)
    contact = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("contact person"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="integrations_contact")
    is_active = models.BooleanField(_("active"), default=True)
    # The service user the integration's tokens act as (created by `integration_create`).
    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("service user"), on_delete=models.PROTECT,
                                related_name="integration", editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token of one integration. The plain token is shown once and never stored."""

    integration = models.ForeignKey(Integration, verbose_name=_("integration"), on_delete=models.CASCADE,
                                    related_name="tokens")
    name = models.CharField(_("name"), max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=16, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    rate_limit_per_minute = models.PositiveIntegerField(_("requests per minute"), default=600)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return not self.is_revoked and not self.is_expired

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class InboundEvent(models.Model):
    """One business event another system posted. (integration, idempotency key) is unique, so a
    replay finds the original; events posted by people (personal token or session) are unique per
    (poster, idempotency key)."""

    ACCOUNT_PATH = "account__"

    integration = models.ForeignKey(Integration, verbose_name=_("integration"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="events")
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("posted by"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    idempotency_key = models.CharField(_("idempotency key"), max_length=100)
    type = models.CharField(_("type"), max_length=30, choices=EventType.choices)
    occurred_at = models.DateTimeField(_("when"))
    account = models.ForeignKey("customers.Account", verbose_name=_("account"), on_delete=models.CASCADE,
                                related_name="inbound_events")
    summary = models.CharField(_("summary"), max_length=300)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    data = models.JSONField(_("data"), default=dict, blank=True)
    # The body as posted, and a fingerprint of its meaning, to tell a replay from a changed body.
    payload = models.JSONField(default=dict)
    fingerprint = models.CharField(max_length=64)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    timeline_event = models.OneToOneField("audit.TimelineEvent", null=True, blank=True, on_delete=models.SET_NULL,
                                          related_name="+")

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("inbound event")
        verbose_name_plural = _("inbound events")
        constraints = [
            models.UniqueConstraint(fields=["integration", "idempotency_key"], condition=Q(integration__isnull=False),
                                    name="inbound_event_integration_key"),
            models.UniqueConstraint(fields=["posted_by", "idempotency_key"], condition=Q(integration__isnull=True),
                                    name="inbound_event_poster_key"),
        ]
        indexes = [models.Index(fields=["integration", "-received_at", "-id"], name="inbound_event_integration")]

    def __str__(self) -> str:
        return f"{self.get_type_display()}: {self.summary}"
