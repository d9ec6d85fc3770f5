"""Serializers of the inbound event feed."""
from __future__ import annotations

import json

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from kamcrm.core.api.serializers import ModelSerializer
from kamcrm.integrations.models import EventType, InboundEvent

MAX_DATA_BYTES = 32 * 1024


class InboundEventInSerializer(serializers.Serializer):
    idempotency_key = serializers.CharField(max_length=100)
    type = serializers.ChoiceField(choices=EventType.choices)
    occurred_at = serializers.DateTimeField()
    account = serializers.IntegerField(required=False, min_value=1, help_text=_("Id of the account."))
    account_external_id = serializers.CharField(
        required=False, max_length=100,
        help_text=_("External id of the account in the token's source system (instead of account)."))
    source_system = serializers.CharField(
        required=False, max_length=40,
        help_text=_("Source system of account_external_id; integration tokens use their own."))
    summary = serializers.CharField(max_length=300)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, allow_null=True)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, default="CNY",
                                      error_messages={"invalid": _("Give a three-letter currency code, e.g. CNY.")})
    data = serializers.JSONField(required=False, default=dict)

    def validate_data(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("Must be a JSON object."))
        if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_DATA_BYTES:
            raise serializers.ValidationError(_("At most %(n)d bytes.") % {"n": MAX_DATA_BYTES})
        return value

    def validate(self, attrs):
        has_id, has_external = "account" in attrs, bool(attrs.get("account_external_id"))
        if has_id == has_external:
            message = _("Give either account or account_external_id.") if not has_id \
                else _("Give account or account_external_id, not both.")
            raise serializers.ValidationError({"account": [message]})
        return attrs


class InboundEventSerializer(ModelSerializer):
    integration = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = InboundEvent
        fields = ["id", "idempotency_key", "type", "occurred_at", "account", "summary", "amount", "currency",
                  "data", "integration", "received_at", "timeline_event"]
        read_only_fields = fields
