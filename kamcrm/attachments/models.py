"""Attachments: files kept under MEDIA_ROOT and hung off any registered record (registry.py) through a
generic key. Deleting one only marks it deleted (who, when); the file stays for the audit."""
from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def upload_to(instance: Attachment, filename: str) -> str:
    """attachments/<year>/<month>/<random>/<safe name>: the random directory keeps names from colliding
    and from being guessed."""
    now = timezone.localtime()
    return f"attachments/{now:%Y}/{now:%m}/{secrets.token_hex(8)}/{filename}"


class Attachment(models.Model):
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.BigIntegerField()
    owner = GenericForeignKey("content_type", "object_id")
    file = models.FileField(_("file"), upload_to=upload_to, max_length=500)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    # Sniffed from the file's first bytes, never taken from the browser.
    mime_type = models.CharField(_("content type"), max_length=100)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    description = models.CharField(_("description"), max_length=500, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    is_deleted = models.BooleanField(_("deleted"), default=False)
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("deleted by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        indexes = [
            # An owner's attachments, newest first (the panel and the API list: keyset on uploaded_at, id).
            models.Index(fields=["content_type", "object_id", "is_deleted", "-uploaded_at", "-id"],
                         name="attachment_owner"),
        ]

    def __str__(self) -> str:
        return self.original_name
