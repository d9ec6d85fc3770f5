"""Keyset pagination for the API: `?cursor=` links, no OFFSET, no unbounded COUNT.

A view sets `keyset_order` (its default order, ending in a unique field) and `keyset_sorts`
(the `?sort=` values it offers, each backed by an index). Views whose rows come from a selector
that already returns a `kamcrm.core.pagination.Page` render it with `page_response()`.
"""
from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from kamcrm.core.pagination import Page, keyset_page

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def page_size_from(request, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    raw = request.query_params.get("page_size")
    if raw in (None, ""):
        return default
    try:
        size = int(raw)
    except ValueError:
        raise ValidationError({"page_size": [_("A whole number is required.")]}) from None
    if size < 1:
        raise ValidationError({"page_size": [_("Must be at least 1.")]})
    return min(size, maximum)


def _link(request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    return replace_query_param(request.build_absolute_uri(), "cursor", cursor)


def page_response(request, page: Page, data) -> Response:
    """The one list body of the API: {"next": url|null, "previous": url|null, "results": [...]}."""
    return Response({"next": _link(request, page.next_cursor), "previous": _link(request, page.prev_cursor),
                     "results": data})


class KeysetPagination(BasePagination):
    page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        size = page_size_from(request, self.page_size, self.max_page_size)
        order = getattr(view, "keyset_order", None) or ["id"]
        sort = request.query_params.get("sort")
        sorts = getattr(view, "keyset_sorts", None) or {}
        if sort:
            if sort not in sorts:
                raise ValidationError({"sort": [_("Unknown sort “%(sort)s”; use one of: %(choices)s.")
                                           % {"sort": sort, "choices": ", ".join(sorts) or _("(none)")}]})
            order = sorts[sort]
        self.request = request
        self.page = keyset_page(queryset, order=order, cursor=request.query_params.get("cursor"), page_size=size)
        return self.page.items

    def get_paginated_response(self, data):
        return page_response(self.request, self.page, data)

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        params = [
            {"name": "cursor", "required": False, "in": "query",
             "description": "Opaque position from a `next` or `previous` link.", "schema": {"type": "string"}},
            {"name": "page_size", "required": False, "in": "query",
             "description": f"Rows per page (default {self.page_size}, at most {self.max_page_size}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size}},
        ]
        sorts = getattr(view, "keyset_sorts", None)
        if sorts:
            params.append({"name": "sort", "required": False, "in": "query", "description": "Sort order.",
                           "schema": {"type": "string", "enum": list(sorts)}})
        return params
