"""API of exports: GET /api/v1/exports/<entity>.<fmt>?<filters> streams a CSV or .xlsx file.

The filters and `sort` are exactly the list's (`/api/v1/accounts/`, `/api/v1/contacts/`), and the
rows are those the caller may see. A bad filter or sort is a 400 naming the field, and an export
over KAMCRM_EXPORT_MAX_ROWS is a 400 too; neither is logged. Every export that starts is logged.
"""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from kamcrm.core import context
from kamcrm.exchange.export import export_prepare
from kamcrm.exchange.export_views import export_resolve, export_response
from kamcrm.exchange.models import ExportChannel

__all__ = ["ExportApi"]


class ExportApi(APIView):
    @extend_schema(
        operation_id="exports_retrieve",
        summary="Export a list as CSV or .xlsx",
        description=(
            "Streams every row of the list the caller may see, with the list's filters and `sort` "
            "(the query parameters of `/api/v1/accounts/` or `/api/v1/contacts/`, including "
            "`attr_<key>` custom-attribute filters); `cursor` is ignored. CSV is UTF-8 with a BOM. "
            "Text that a spreadsheet would run as a formula (starting with = + - @, tab, CR or their "
            "full-width forms) is prefixed with an apostrophe. Every export is logged."
        ),
        parameters=[
            OpenApiParameter("entity", OpenApiTypes.STR, OpenApiParameter.PATH,
                             enum=["accounts", "contacts", "opportunities", "products"]),
            OpenApiParameter("fmt", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["csv", "xlsx"]),
            OpenApiParameter("sort", OpenApiTypes.STR, OpenApiParameter.QUERY, description="As the list's `sort`."),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The CSV file."),
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"):
                OpenApiResponse(OpenApiTypes.BINARY, description="The .xlsx file."),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="A bad filter or sort, or too many rows."),
        },
        tags=["exports"],
    )
    def get(self, request, entity: str, fmt: str):
        context.set_channel(context.Channel.API)
        found = export_resolve(entity, fmt)
        # A ValidationError (bad filter, sort or size) becomes a 400 in kamcrm.api.errors.
        prepared = export_prepare(entity=found, user=request.user, query=request.query_params)
        return export_response(prepared=prepared, fmt=fmt, user=request.user, channel=ExportChannel.API)
