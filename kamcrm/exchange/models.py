"""Models of the exchange app: the export log (import jobs join later)."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    XLSX = "xlsx", _("Excel (.xlsx)")


class ExportChannel(models.TextChoices):
    UI = "ui", _("UI")
    API = "api", _("API")


class ExportLog(models.Model):
    """Who exported what: one row per export, written when its stream finishes (or is cut off)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True,
                             on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(_("username"), max_length=150, help_text=_("Kept if the user is deleted."))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    entity = models.CharField(_("entity"), max_length=40)
    format = models.CharField(_("format"), max_length=10, choices=ExportFormat.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=ExportChannel.choices)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    sort = models.CharField(_("sort"), max_length=40, blank=True)
    row_count = models.PositiveIntegerField(_("rows"))
    completed = models.BooleanField(_("completed"), default=True,
                                    help_text=_("False when the download was cut off before the last row."))

    class Meta:
        ordering = ["-id"]
        verbose_name = _("export log entry")
        verbose_name_plural = _("export log")
        indexes = [
            models.Index(fields=["user", "-id"], name="exportlog_user_id"),
            models.Index(fields=["entity", "-id"], name="exportlog_entity_id"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.entity}.{self.format} ({self.row_count})"
