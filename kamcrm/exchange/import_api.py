"""API of imports (scope "import" for integration tokens):

    POST /api/v1/imports/                 multipart: file, mapping (a saved mapping's name) or steps (JSON),
                                          source_system, dry_run -> 202 and the job
    GET  /api/v1/imports/                 the caller's jobs (administrators: all), newest first
    GET  /api/v1/imports/{id}/            status and progress
    GET  /api/v1/imports/{id}/errors/     the rejected rows (line, column, value, kind, message), paged
    GET  /api/v1/imports/{id}/errors.csv  the same as a CSV file
    POST /api/v1/imports/{id}/resume/     resume a failed job or one whose worker died
    POST /api/v1/imports/{id}/cancel/     stop a queued or running job after its current batch
    GET/POST /api/v1/import-mappings/     saved mappings
"""
from __future__ import annotations

import json

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from kamcrm.api.pagination import KeysetPagination, page_response, page_size_from
from kamcrm.core import context
from kamcrm.core.api.serializers import ModelSerializer
from kamcrm.core.pagination import keyset_page
from kamcrm.exchange.import_selectors import import_job_queryset, import_mapping_queryset
from kamcrm.exchange.import_services import (
    import_errors_csv,
    import_job_cancel,
    import_job_create,
    import_job_resume,
    mapping_save,
)
from kamcrm.exchange.models import ImportJob, ImportMapping, ImportRowError

__all__ = ["ImportJobViewSet", "ImportMappingViewSet"]


class ImportJobSerializer(ModelSerializer):
    job_id = serializers.CharField(read_only=True)
    good_rows = serializers.IntegerField(read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)
    mapping = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = ImportJob
        fields = ["id", "job_id", "status", "dry_run", "entity", "mapping", "source_system", "steps", "file_name",
                  "file_format", "file_size", "encoding", "total_rows", "bad_rows", "good_rows", "rows_done",
                  "progress_percent", "counts", "error_message", "attempts", "created_by", "created_at",
                  "started_at", "finished_at"]
        read_only_fields = fields


class ImportJobCreateSerializer(serializers.Serializer):
    file = serializers.FileField()
    mapping = serializers.SlugRelatedField(slug_field="name", queryset=ImportMapping.objects.all(), required=False,
                                           allow_null=True)
    steps = serializers.CharField(required=False, allow_blank=True,
                                  help_text="The mapping's steps as JSON, when no saved mapping is named.")
    source_system = serializers.CharField(required=False, allow_blank=True, max_length=40)
    dry_run = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        if not attrs.get("mapping") and not attrs.get("steps"):
            raise serializers.ValidationError({"mapping": ["Name a saved mapping or give the steps."]})
        if attrs.get("steps"):
            try:
                attrs["steps"] = json.loads(attrs["steps"])
            except ValueError as exc:
                raise serializers.ValidationError({"steps": [f"Not valid JSON: {exc}"]}) from None
        return attrs


class ImportRowErrorSerializer(ModelSerializer):
    class Meta:
        model = ImportRowError
        fields = ["id", "step", "line", "column", "value", "kind", "message"]


class ImportMappingSerializer(ModelSerializer):
    class Meta:
        model = ImportMapping
        fields = ["id", "name", "description", "source_system", "steps", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    required_scope = "import"
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    pagination_class = KeysetPagination
    keyset_order = ["-id"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        context.set_channel(context.Channel.API)

    def get_queryset(self):
        return import_job_queryset(self.request.user)

    @extend_schema(request={"multipart/form-data": ImportJobCreateSerializer}, responses={202: ImportJobSerializer},
                   summary="Upload a file and start its import")
    def create(self, request):
        form = ImportJobCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        upload = data["file"]
        job = import_job_create(by=request.user, file=upload, file_name=upload.name, mapping=data.get("mapping"),
                                steps=data.get("steps"), source_system=data.get("source_system", ""),
                                dry_run=data.get("dry_run", False))
        body = ImportJobSerializer(job).data
        return Response(body, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": request.build_absolute_uri(f"{job.pk}/")})

    @extend_schema(responses=ImportRowErrorSerializer(many=True), summary="The rejected rows of a job")
    @action(detail=True, methods=["get"])
    def errors(self, request, pk=None):
        job = self.get_object()
        page = keyset_page(ImportRowError.objects.filter(job=job), order=["line", "id"],
                           cursor=request.query_params.get("cursor"), page_size=page_size_from(request))
        return page_response(request, page, ImportRowErrorSerializer(page.items, many=True).data)

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY)},
                   summary="The rejected rows of a job as CSV")
    def errors_csv(self, request, pk=None):
        job = self.get_object()
        response = StreamingHttpResponse(import_errors_csv(job), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{job.job_id}-errors.csv"'
        return response

    @extend_schema(request=None, responses={202: ImportJobSerializer}, summary="Resume a failed or stalled job")
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        job = import_job_resume(job=self.get_object(), by=request.user)
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: ImportJobSerializer}, summary="Cancel a queued or running job")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        job = import_job_cancel(job=self.get_object(), by=request.user)
        return Response(ImportJobSerializer(job).data)


class ImportMappingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                           viewsets.GenericViewSet):
    required_scope = "import"
    serializer_class = ImportMappingSerializer
    pagination_class = None
    lookup_field = "name"

    def get_queryset(self):
        return import_mapping_queryset(self.request.user)

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        if self.action == "create":
            # "name" is the key of create-or-replace (mapping_save), not a uniqueness error.
            serializer.fields["name"].validators = []
        return serializer

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = mapping_save(name=data["name"], source_system=data.get("source_system", ""),
                                           steps=data.get("steps"), description=data.get("description", ""),
                                           by=self.request.user)
