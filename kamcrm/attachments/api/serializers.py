"""Attachment API shapes: the stored attachment, and the upload body (multipart)."""
from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from kamcrm.attachments.models import Attachment
from kamcrm.core.api.serializers import ModelSerializer


class AttachmentSerializer(ModelSerializer):
    file_name = serializers.CharField(source="original_name", read_only=True)
    content_type = serializers.CharField(source="mime_type", read_only=True)
    uploaded_by_name = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "file_name", "size", "content_type", "sha256", "description", "uploaded_by",
                  "uploaded_by_name", "uploaded_at", "download_url"]
        read_only_fields = fields

    def get_uploaded_by_name(self, obj: Attachment) -> str:
        return str(obj.uploaded_by) if obj.uploaded_by_id else ""

    def get_download_url(self, obj: Attachment) -> str:
        entry = self.context["owner_entry"]
        return reverse(f"attachments_api:{entry.key}-attachment-download", args=[obj.object_id, obj.pk])


class AttachmentUploadSerializer(serializers.Serializer):
    """multipart/form-data: `file`, and an optional `description`."""

    file = serializers.FileField(allow_empty_file=True, max_length=1000)
    description = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


__all__ = ["AttachmentSerializer", "AttachmentUploadSerializer"]
