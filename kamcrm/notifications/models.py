"""A notification to one person.

Words: a row stores a message key (texts.MESSAGES) and its parameters, not finished sentences, and is put
into words when read, in the language of the page reading it. Rendering at creation in the recipient's
language was the alternative, but the UI language is the session's choice (the navbar switch, the
browser's Accept-Language), not User.preferred_language, which is often blank and nothing else reads; a
person switching to English would otherwise keep reading Chinese notifications. Parameters that are
themselves language-dependent (a metric's name, a month) are stored as {"zh-hans": …, "en": …}; names of
units, plans and people, and comments, are the data's own words and stored once.

Dedupe: (recipient, kind, key) is unique, and services.notify inserts with ON CONFLICT DO NOTHING, so a
producer may run twice (a scan every hour) and each person hears of each event or period once.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kamcrm.notifications.choices import Kind
from kamcrm.notifications.texts import MESSAGES, TITLES


class _Params(dict):
    def __missing__(self, key: str) -> str:
        return "…"


def localise(value: Any, language: str | None = None) -> str:
    """A stored parameter in `language` (the active one by default): {"zh-hans": …, "en": …} picks a
    language, anything else is shown as it is."""
    if isinstance(value, dict):
        language = (language or get_language() or "en").lower()
        for code, text in value.items():
            if language.startswith(code.lower().split("-")[0]):
                return str(text)
        return str(value.get("en", next(iter(value.values()), "")))
    return str(value)


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE,
                                  related_name="notifications")
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    # What happened or which period, e.g. "review:12" or "p7:m3:2026-11": one notification per key.
    key = models.CharField(_("key"), max_length=200)
    message = models.CharField(_("message"), max_length=40)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [models.UniqueConstraint(fields=["recipient", "kind", "key"], name="notif_recipient_kind_key")]
        indexes = [
            # the bell's unread count and the unread list: recipient = ? AND read_at IS NULL ORDER BY id DESC
            models.Index(fields=["recipient", "read_at", "-id"], name="notif_recipient_read_id"),
            # the whole list: recipient = ? ORDER BY id DESC
            models.Index(fields=["recipient", "-id"], name="notif_recipient_id"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.kind} {self.key}"

    @property
    def title(self) -> str:
        return str(TITLES.get(self.kind, self.get_kind_display()))

    @property
    def text(self) -> str:
        template = MESSAGES.get(self.message)
        if template is None:  # a message retired since: the title still says what it was
            return ""
        return str(template) % _Params({k: localise(v) for k, v in (self.params or {}).items()})

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
