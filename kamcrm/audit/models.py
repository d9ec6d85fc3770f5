"""The audit log (append-only) and the account timeline's event stream."""
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from kamcrm.core.context import Channel


class ChangeAction(models.TextChoices):
    CREATE = "create", _("created")
    UPDATE = "update", _("changed")
    DELETE = "delete", _("deleted")


class ObjectChange(models.Model):
    """One create, change or delete of a business record. Written only by the audit receiver."""

    changed_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(_("by (name)"), max_length=150, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.CHOICES)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    job_id = models.CharField(_("job id"), max_length=64, blank=True)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.BigIntegerField()
    object_repr = models.CharField(_("record"), max_length=200)
    action = models.CharField(_("action"), max_length=10, choices=ChangeAction.choices)
    # {"field": [before, after]}; for create only the after values are meaningful.
    changes = models.JSONField(_("changes"), default=dict)
    # The account the record hangs off, so an account's history is one indexed query.
    account_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [
            models.Index(fields=["content_type", "object_id", "-id"], name="audit_object"),
            models.Index(fields=["account_id", "-id"], name="audit_account"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_repr}"


class TimelineEvent(models.Model):
    """One entry on an account's timeline: logged interactions, field changes, and later
    opportunities, agreements, invoices and tickets. The timeline reads this table alone."""

    account = models.ForeignKey("customers.Account", on_delete=models.CASCADE, related_name="timeline")
    occurred_at = models.DateTimeField(_("when"))
    kind = models.CharField(_("kind"), max_length=30)
    summary = models.CharField(_("summary"), max_length=300)
    body = models.TextField(_("details"), blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    object_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        indexes = [
            models.Index(fields=["account", "-occurred_at", "-id"], name="timeline_account_time"),
            models.Index(fields=["account", "kind", "-occurred_at", "-id"], name="timeline_account_kind"),
            # "Latest events on everything I can see" (home page) for roles that see the whole company.
            models.Index(fields=["-occurred_at", "-id"], name="timeline_time"),
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def kind_label(self) -> str:
        from kamcrm.audit.timeline import kind_label

        return kind_label(self.kind)

    @property
    def display_summary(self) -> str:
        """The summary in the active language. Audit events store "<model name>: <record>" in the
        language of the request that wrote them, so the model name is read again here."""
        if self.kind in ("field_change", "record_created") and self.content_type_id:
            _stored, sep, record = self.summary.partition(": ")
            model = ContentType.objects.get_for_id(self.content_type_id).model_class()
            if sep and model is not None:
                return f"{model._meta.verbose_name}: {record}"
        return self.summary
