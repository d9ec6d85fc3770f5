"""Which kinds of record take attachments. Only registered models do; any other answers 404.

An attachment hangs off its owner through a generic key (content type + object id), so it cannot
declare ACCOUNT_PATH: who may list or download an owner's attachments is decided on the owner, with
`org.selectors.can(user, owner, VIEW)`, and who may add or delete them with `can(user, owner, EDIT)`.
The owner model must therefore declare ACCOUNT_PATH itself (it is scoped by `visible`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class Owner:
    model: type[models.Model]
    key: str  # in UI URLs: /attachments/<key>/<id>/
    api_prefix: str | None  # in API URLs: /api/v1/<api_prefix>/<id>/attachments/
    url: Callable[[models.Model], str] | None  # the owner's page (where the panel is)

    def account_id(self, obj: models.Model) -> int | None:
        """The account the owner hangs off (for the audit log and the account timeline)."""
        path = getattr(self.model, "ACCOUNT_PATH", None)
        if path is None:
            return None
        if path == "":
            return obj.pk
        *hops, last = path.rstrip("_").split("__")
        for hop in hops:
            obj = getattr(obj, hop, None)
            if obj is None:
                return None
        return getattr(obj, f"{last}_id", None)


_BY_KEY: dict[str, Owner] = {}
_BY_MODEL: dict[type[models.Model], Owner] = {}


def register(model: type[models.Model], *, key: str | None = None, api_prefix: str | None = None,
             url: Callable[[models.Model], str] | None = None) -> Owner:
    if getattr(model, "ACCOUNT_PATH", None) is None:
        raise TypeError(f"{model.__name__} declares no ACCOUNT_PATH; its attachments could not be scoped")
    owner = Owner(model=model, key=key or model._meta.model_name, api_prefix=api_prefix, url=url)
    _BY_KEY[owner.key] = owner
    _BY_MODEL[model] = owner
    return owner


def by_key(key: str) -> Owner | None:
    return _BY_KEY.get(key)


def for_model(model: type[models.Model]) -> Owner | None:
    return _BY_MODEL.get(model)


def owners() -> list[Owner]:
    return list(_BY_KEY.values())
