"""Keyset pagination for the API: `?cursor=` links, no OFFSET, no unbounded COUNT."""
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from kamcrm.core.pagination import keyset_page


class KeysetPagination(BasePagination):
    page_size = 50
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        try:
            size = min(int(request.query_params.get("page_size", self.page_size)), self.max_page_size)
        except ValueError:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"page_size": ["A whole number is required."]}) from None
        order = getattr(view, "keyset_order", None) or ["id"]
        sort = request.query_params.get("sort")
        sorts = getattr(view, "keyset_sorts", {})
        if sort:
            if sort not in sorts:
                from rest_framework.exceptions import ValidationError

                raise ValidationError({"sort": [f"Unknown sort “{sort}”; use one of {', '.join(sorts) or 'id'}."]})
            order = sorts[sort]
        self.request = request
        self.page = keyset_page(queryset, order=order, cursor=request.query_params.get("cursor"), page_size=max(size, 1))
        return self.page.items

    def _link(self, cursor):
        if cursor is None:
            return None
        from rest_framework.utils.urls import replace_query_param

        return replace_query_param(self.request.build_absolute_uri(), "cursor", cursor)

    def get_paginated_response(self, data):
        return Response({"next": self._link(self.page.next_cursor), "previous": self._link(self.page.prev_cursor),
                         "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }
