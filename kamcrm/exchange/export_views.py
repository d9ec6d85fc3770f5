"""Export UI: download a list as CSV or .xlsx with the list's filters and sort; the export log.

`export_response` is shared with the API (`export_api.py`): it prepares the export (filters, sort
and row cap are checked before a byte is sent, so a bad request is a 400 and is not logged), then
streams it and writes the export log when the stream finishes.
"""
from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from kamcrm.core.pagination import bounded_count
from kamcrm.core.services import validation_error_dict
from kamcrm.exchange.export import (
    ExportEntity,
    ExportRun,
    FinishingFile,
    PreparedExport,
    csv_stream,
    export_entity_get,
    export_prepare,
    xlsx_file,
)
from kamcrm.exchange.export_selectors import ExportLogFilterSet, export_log_list, export_log_queryset
from kamcrm.exchange.export_services import export_log_record
from kamcrm.exchange.models import ExportFormat
from kamcrm.org.selectors import is_administrator

__all__ = ["export_download", "export_log", "export_resolve", "export_response"]

logger = logging.getLogger(__name__)
PAGE_SIZE = 50
CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_resolve(entity: str, fmt: str) -> ExportEntity:
    """The registered entity, or 404 for an unknown entity or format."""
    found = export_entity_get(entity)
    if found is None or fmt not in ExportFormat.values:
        raise Http404
    return found


def _log_writer(*, user, fmt: str, channel: str):  # noqa: ANN001, ANN202
    def write(run: ExportRun) -> None:
        prepared = run.prepared
        try:
            export_log_record(user=user, entity=prepared.entity.name, format=fmt, channel=channel,
                              filters=prepared.filters, sort=prepared.sort, row_count=run.rows,
                              started_at=run.started_at, duration_ms=run.duration_ms, completed=run.completed)
        except Exception:  # the response is already sent; never lose the fact silently
            logger.exception("could not write the export log for %s (%s rows)", prepared.entity.name, run.rows)
    return write


def export_response(*, prepared: PreparedExport, fmt: str, user, channel: str) -> HttpResponse:  # noqa: ANN001
    run = ExportRun(prepared, _log_writer(user=user, fmt=fmt, channel=channel))
    filename = f"{prepared.entity.name}-{timezone.localtime():%Y%m%d-%H%M%S}.{fmt}"
    if fmt == ExportFormat.CSV:
        response: HttpResponse = StreamingHttpResponse(csv_stream(run), content_type=CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    else:
        response = FileResponse(FinishingFile(xlsx_file(run), run), as_attachment=True, filename=filename,
                                content_type=CONTENT_TYPES[fmt])
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def export_download(request: HttpRequest, entity: str, fmt: str) -> HttpResponse:
    """/exchange/export/<entity>.<fmt>?<the list's filters and sort>"""
    found = export_resolve(entity, fmt)
    try:
        prepared = export_prepare(entity=found, user=request.user, query=request.GET)
    except ValidationError as exc:
        return render(request, "exchange/export_error.html",
                      {"errors": validation_error_dict(exc), "entity": found}, status=400)
    return export_response(prepared=prepared, fmt=fmt, user=request.user, channel="ui")


@login_required
@require_GET
def export_log(request: HttpRequest) -> HttpResponse:
    """Administrators only: who exported what, newest first, one keyset page at a time."""
    if not is_administrator(request.user):
        raise PermissionDenied(_("Only administrators may do this."))
    filters = request.GET.copy()
    for key in ("sort", "cursor"):
        filters.pop(key, None)
    form = ExportLogFilterSet(data=filters).form
    sort = request.GET.get("sort") or "-id"
    page, count, capped, errors = None, 0, False, {}
    try:
        page = export_log_list(filters=filters, sort=sort, cursor=request.GET.get("cursor") or None,
                               page_size=PAGE_SIZE)
        count, capped = bounded_count(export_log_queryset(filters=filters))
    except ValidationError as exc:
        errors = validation_error_dict(exc)
    context = {"page": page, "count": count, "capped": capped, "form": form, "errors": errors, "sort": sort,
               "sorts": [("-id", _("Newest first")), ("id", _("Oldest first"))],
               "filtered": any(v for v in filters.values())}
    return render(request, "exchange/export_log_list.html", context, status=400 if errors else 200)
