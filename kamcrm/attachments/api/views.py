"""Attachments of a registered record in the API: /api/v1/<owner>/<id>/attachments/ (list, upload),
…/<attachment id>/ (read, delete) and …/<attachment id>/download/.

Same rules as the UI: an owner the user cannot see answers 404 whatever the method (and so does an
attachment of another record); an upload or a deletion on an owner they may see but not edit answers
403, as the owner's own endpoints do. Integration tokens need `read` for GET and `write` otherwise
(`HasScope`, the project default).
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from kamcrm.attachments import registry, selectors, services
from kamcrm.attachments.api.serializers import AttachmentSerializer, AttachmentUploadSerializer
from kamcrm.attachments.models import Attachment
from kamcrm.attachments.responses import download_response
from kamcrm.org.selectors import VIEW

__all__ = ["AttachmentViewSet"]

REFUSED = {400: OpenApiResponse(description="Refused (empty, too large, a type not allowed, content that is not "
                                            "what the extension says); `errors.file` says why."),
           403: OpenApiResponse(description="The record is visible but not editable (or the token lacks `write`)."),
           404: OpenApiResponse(description="Not found.")}


class AttachmentViewSet(viewsets.GenericViewSet):
    """Attachments (附件) of one record, newest first."""

    owner_key: str = ""
    serializer_class = AttachmentSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    filter_backends: list = []
    keyset_order = selectors.ORDER
    lookup_value_regex = r"\d+"
    queryset = Attachment.objects.none()  # for the schema; reads go through the selectors

    @property
    def entry(self) -> registry.Owner:
        return registry.by_key(self.owner_key)

    def owner(self):
        return selectors.owner_get(user=self.request.user, key=self.owner_key, pk=self.kwargs["owner_id"],
                                   action=VIEW)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "owner_entry": self.entry}

    def _attachment(self):
        owner = self.owner()
        return selectors.attachment_get(user=self.request.user, pk=self.kwargs["pk"], owner=owner, action=VIEW)

    def list(self, request, owner_id: int):
        owner = self.owner()
        rows = self.paginate_queryset(selectors.attachment_queryset(owner=owner))
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    @extend_schema(request={"multipart/form-data": AttachmentUploadSerializer},
                   responses={201: AttachmentSerializer, **REFUSED},
                   description="Upload a file (multipart/form-data, field `file`; optional `description`). The "
                               "type is read from the file's content and must agree with its extension (pdf, doc, "
                               "docx, xls, xlsx, png, jpg, jpeg, txt, csv, zip).")
    def create(self, request, owner_id: int):
        owner = self.owner()
        body = AttachmentUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            attachment = services.attachment_add_for(user=request.user, owner=owner,
                                                     file=body.validated_data["file"],
                                                     description=body.validated_data.get("description") or "")
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return Response(self.get_serializer(attachment).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, owner_id: int, pk: int):
        return Response(self.get_serializer(self._attachment()).data)

    @extend_schema(responses={204: None, 403: REFUSED[403], 404: REFUSED[404]},
                   description="Delete (the attachment leaves the lists; the audit log keeps it).")
    def destroy(self, request, owner_id: int, pk: int):
        attachment = self._attachment()
        try:
            services.attachment_delete_for(user=request.user, attachment_id=attachment.pk, owner=attachment.owner)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: REFUSED[404]},
                   description="The file, as an attachment with its original name (`filename*`, UTF-8).")
    def download(self, request, owner_id: int, pk: int):
        return download_response(self._attachment())
