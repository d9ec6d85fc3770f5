"""`field__in_ids=[...]`: a long list of ids as one parameter.

Django's `__in` prepares and binds every element on its own and writes `IN (%s, %s, …)`; for the few
thousand account ids of a listing (org.selectors.visible) that is ~10 ms of Python per query and, on
PostgreSQL, ~6 ms of planning for the literal list. One parameter costs neither: an array on
PostgreSQL (`= ANY(%s)`), a JSON array on SQLite (`IN (SELECT value FROM json_each(%s))`).
The ids must be ints (they come from the database, never from a request).
"""
from __future__ import annotations

import json

from django.db.models import ForeignKey, IntegerField, Lookup


class InIds(Lookup):
    lookup_name = "in_ids"
    prepare_rhs = False

    def as_sql(self, compiler, connection):  # noqa: ANN001, ANN201
        lhs, params = self.process_lhs(compiler, connection)
        ids = [int(pk) for pk in self.rhs]
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::bigint[])", [*params, ids]
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*params, json.dumps(ids)]


IntegerField.register_lookup(InIds)  # BigAutoField and the other integer fields inherit it
ForeignKey.register_lookup(InIds)
