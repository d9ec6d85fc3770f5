"""The inbound event feed: other systems post business events (`POST /api/v1/events/`)."""
from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from kamcrm.integrations.api.serializers import InboundEventInSerializer, InboundEventSerializer
from kamcrm.integrations.models import ApiToken, TokenScope
from kamcrm.integrations.services import AccountNotFound, IdempotencyConflict, inbound_event_receive

__all__ = ["InboundEventView"]

_Error = inline_serializer("EventError", fields={"detail": serializers.CharField(),
                                                 "errors": serializers.DictField(child=serializers.ListField())})


class InboundEventView(APIView):
    """Post one business event; it lands on the account's timeline. Replays with the same
    `idempotency_key` answer 200 with the original event and change nothing; the same key with
    a different body answers 409."""

    required_scope = TokenScope.EVENTS

    @extend_schema(
        request=InboundEventInSerializer,
        responses={201: InboundEventSerializer, 200: InboundEventSerializer,
                   400: OpenApiResponse(_Error), 404: OpenApiResponse(_Error), 409: OpenApiResponse(_Error)},
        tags=["events"],
    )
    def post(self, request):
        incoming = InboundEventInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        v = incoming.validated_data
        integration = request.auth.integration if isinstance(request.auth, ApiToken) else None
        try:
            received = inbound_event_receive(
                by=request.user, integration=integration, idempotency_key=v["idempotency_key"], type=v["type"],
                occurred_at=v["occurred_at"], summary=v["summary"], account_id=v.get("account"),
                account_external_id=v.get("account_external_id", ""), source_system=v.get("source_system", ""),
                amount=v.get("amount"), currency=v["currency"], data=v["data"], payload=request.data,
            )
        except AccountNotFound as exc:
            return Response({"detail": _("Not found."),
                             "errors": {exc.field: [_("No account with this reference that you may edit.")]}},
                            status=status.HTTP_404_NOT_FOUND)
        except IdempotencyConflict:
            return Response({"detail": _("Conflict."),
                             "errors": {"idempotency_key": [_("This idempotency key was already used with a "
                                                              "different body.")]}},
                            status=status.HTTP_409_CONFLICT)
        return Response(InboundEventSerializer(received.event).data,
                        status=status.HTTP_201_CREATED if received.created else status.HTTP_200_OK)
