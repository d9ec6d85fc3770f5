"""Form plumbing shared by every app's UI: Tabler widget classes, service errors onto fields, the
lookup-picker field, custom-attribute form fields, and the throttled login form."""
from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kamcrm.core.models import AttributeDefinition, AttributeType
from kamcrm.core.services import validation_error_dict

__all__ = [
    "ATTR_PREFIX",
    "BOOL_CHOICES",
    "LoginForm",
    "LookupChoiceField",
    "TablerFormMixin",
    "add_service_errors",
    "attribute_fields",
    "attribute_values",
    "account_label",
    "bound_or_initial",
    "user_label",
    "login_failures",
]

ATTR_PREFIX = "attr_"


class TablerFormMixin:
    """Gives every widget Tabler's classes, marks invalid fields and focuses the first field."""

    autofocus = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def style_widgets(self) -> None:
        first = True
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            classes = widget.attrs.get("class", "")
            if css not in classes.split():
                widget.attrs["class"] = f"{css} {classes}".strip()
            if first and self.autofocus:
                widget.attrs.setdefault("autofocus", True)
            first = False

    def full_clean(self) -> None:
        super().full_clean()
        self.mark_invalid()

    def mark_invalid(self) -> None:
        for name in getattr(self, "_errors", None) or {}:
            if name in self.fields:
                widget = self.fields[name].widget
                classes = widget.attrs.get("class", "")
                if "is-invalid" not in classes.split():
                    widget.attrs["class"] = f"{classes} is-invalid".strip()
                widget.attrs["aria-invalid"] = "true"

    def add_error(self, field, error) -> None:  # noqa: ANN001 - Django's signature
        super().add_error(field, error)
        self.mark_invalid()


# A database constraint that full_clean reports as a non-field error, and the field it is about.
CONSTRAINT_FIELDS: dict[str, str] = {
    "customers_account_credit_code_uniq": "credit_code",
    "customers_team_valid_range": "valid_to",
    "customers_team_account_user_uniq": "user",
    "customers_contact_strength_1_5": "relationship_strength",
}


def add_service_errors(form: forms.Form, exc: ValidationError, *, field_map: dict[str, str] | None = None) -> None:
    """Put a service's ValidationError onto the form: `attributes.<key>` onto `attr_<key>`, other keys
    onto the field of that name (or `field_map[key]`), constraint violations onto their field, the rest
    as non-field errors that still name the key."""
    field_map = field_map or {}
    for key, messages in validation_error_dict(exc).items():
        target: str | None = field_map.get(key, key)
        if key.startswith("attributes."):
            target = ATTR_PREFIX + key.split(".", 1)[1]
        if target == "__all__":
            for message in messages:
                named = next((f for c, f in CONSTRAINT_FIELDS.items() if c in message and f in form.fields), None)
                if named:
                    form.add_error(named, _constraint_message(named))
                else:
                    form.add_error(None, message)
            continue
        if target in form.fields:
            for message in messages:
                form.add_error(target, message)
        else:
            for message in messages:
                form.add_error(None, f"{key}: {message}")


def _constraint_message(field: str) -> str:
    return {
        "credit_code": _("Another account already has this unified social credit code."),
        "valid_to": _("“Valid to” must not be before “valid from”."),
        "user": _("This person is already on the account team."),
        "relationship_strength": _("Relationship strength runs from 1 to 5."),
    }.get(field, _("This value is not allowed."))


class LookupSelect(forms.Select):
    """A select that renders only its selected option; the browser fills the rest from `search_url`."""

    def __init__(self, search_url: str = "", attrs: dict | None = None) -> None:
        super().__init__(attrs)
        self.search_url = search_url

    def get_context(self, name, value, attrs):  # noqa: ANN001
        context = super().get_context(name, value, attrs)
        if self.search_url:
            context["widget"]["attrs"]["data-search-url"] = str(self.search_url)
        return context


class LookupChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField for tables too big to list (50k users, 1M accounts): validates against the
    queryset but renders only the chosen row (see `show_selected`)."""

    def __init__(self, queryset, *, search_url: str = "", label_from=None, **kwargs: Any) -> None:  # noqa: ANN001
        kwargs.setdefault("widget", LookupSelect(search_url))
        super().__init__(queryset, **kwargs)
        self.widget.choices = [("", "")]
        self.label_from = label_from or str

    def _set_queryset(self, queryset) -> None:  # noqa: ANN001
        # ModelChoiceField would point the widget at an iterator over the whole table; never do that.
        self._queryset = None if queryset is None else queryset.all()

    queryset = property(forms.ModelChoiceField._get_queryset, _set_queryset)

    def show_selected(self, obj) -> None:  # noqa: ANN001
        """Offer just `obj`, labelled as the lookup labels it, so that the picker's text matches."""
        self.widget.choices = [("", "")] + ([(obj.pk, self.label_from(obj))] if obj is not None else [])


def user_label(user) -> str:  # noqa: ANN001
    """How pickers show a person: display name (username) · unit."""
    name = str(user)
    text = name if name == user.username else f"{name} ({user.username})"
    return f"{text} · {user.unit}" if user.unit_id else text


def account_label(account) -> str:  # noqa: ANN001
    return f"{account.name} ({account.short_name})" if account.short_name else account.name


def bound_or_initial(form: forms.Form, name: str) -> Any:
    if form.is_bound:
        return form.data.get(form.add_prefix(name)) or None
    value = form.initial.get(name, form.fields[name].initial)
    return value.pk if hasattr(value, "pk") else value


def show_selected(form: forms.Form, name: str, model) -> None:  # noqa: ANN001
    """Render only the chosen row of a lookup field (one indexed query), never the whole table."""
    from django.contrib.auth import get_user_model

    value = bound_or_initial(form, name)
    if value in (None, ""):
        return
    qs = model.objects.select_related("unit") if model is get_user_model() else model.objects
    try:
        obj = value if isinstance(value, model) else qs.filter(pk=int(value)).first()
    except (TypeError, ValueError):
        return
    form.fields[name].show_selected(obj)


# ---- custom attributes --------------------------------------------------------------------------

BOOL_CHOICES = [("", "—"), ("true", _("yes")), ("false", _("no"))]


def attribute_field(defn: AttributeDefinition, *, for_filter: bool = False) -> forms.Field:
    """A type-appropriate form field for one attribute definition (input only; the engine validates)."""
    label = defn.label
    required = defn.required and not for_filter
    t = defn.type
    if t == AttributeType.NUMBER and not for_filter:
        return forms.IntegerField(label=label, required=required,
                                  min_value=int(defn.min_value) if defn.min_value is not None else None,
                                  max_value=int(defn.max_value) if defn.max_value is not None else None)
    if t == AttributeType.DECIMAL and not for_filter:
        return forms.DecimalField(label=label, required=required)
    if t == AttributeType.DATE:
        return forms.DateField(label=label, required=required,
                               widget=forms.DateInput(attrs={"class": "js-date", "autocomplete": "off"},
                                                      format="%Y-%m-%d"))
    if t == AttributeType.CHOICE or (t == AttributeType.MULTI_CHOICE and for_filter):
        return forms.ChoiceField(label=label, required=required, choices=[("", "—"), *[(c, c) for c in defn.choices]])
    if t == AttributeType.MULTI_CHOICE:
        return forms.MultipleChoiceField(label=label, required=required, choices=[(c, c) for c in defn.choices],
                                         widget=forms.SelectMultiple(attrs={"class": "js-choices"}))
    if t == AttributeType.BOOLEAN:
        return forms.TypedChoiceField(label=label, required=required, choices=BOOL_CHOICES,
                                      coerce=lambda v: v == "true", empty_value=None)
    return forms.CharField(label=label, required=required, max_length=defn.max_length or None)


def attribute_fields(form: forms.Form, definitions: list[AttributeDefinition], *, values: dict | None = None,
                     for_filter: bool = False) -> list[str]:
    """Add `attr_<key>` fields to `form` for `definitions`; returns their names in order."""
    names = []
    for defn in definitions:
        name = ATTR_PREFIX + defn.key
        form.fields[name] = attribute_field(defn, for_filter=for_filter)
        if values and defn.key in values and not form.is_bound:
            value = values[defn.key]
            if defn.type == AttributeType.BOOLEAN:
                value = "true" if value else "false"
            form.initial[name] = value
        names.append(name)
    return names


def attribute_values(form: forms.Form, definitions: list[AttributeDefinition]) -> dict[str, Any]:
    """The cleaned `attr_<key>` fields as the JSON-native dict the attribute engine takes."""
    values: dict[str, Any] = {}
    for defn in definitions:
        value = form.cleaned_data.get(ATTR_PREFIX + defn.key)
        if value in (None, "", []):
            continue
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        values[defn.key] = value
    return values


# ---- login with throttling ----------------------------------------------------------------------

def _key(kind: str, value: str) -> str:
    return f"kamcrm:login-failures:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


def _client_ip(request) -> str:  # noqa: ANN001
    return (request.META.get("REMOTE_ADDR") or "unknown") if request is not None else "unknown"


def login_failures(*, username: str, ip: str) -> int:
    """The larger of the failure counts for this username and this client address in the window."""
    found = cache.get_many([_key("user", username.strip().lower()), _key("ip", ip)])
    return max(found.values(), default=0)


def _record_failure(*, username: str, ip: str) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    for key in (_key("user", username.strip().lower()), _key("ip", ip)):
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=window)


def _forget_failures(*, username: str) -> None:
    cache.delete(_key("user", username.strip().lower()))


class LoginForm(TablerFormMixin, AuthenticationForm):
    """Django's login form that refuses further attempts after LOGIN_FAILURE_LIMIT failures for one
    username or one client address within LOGIN_FAILURE_WINDOW_SECONDS."""

    def __init__(self, request=None, *args: Any, **kwargs: Any) -> None:  # noqa: ANN001
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.attrs["autocomplete"] = "username"
        self.fields["password"].widget.attrs["autocomplete"] = "current-password"

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = _client_ip(self.request)
        if login_failures(username=username, ip=ip) >= settings.LOGIN_FAILURE_LIMIT:
            minutes = max(1, settings.LOGIN_FAILURE_WINDOW_SECONDS // 60)
            raise ValidationError(
                ngettext(
                    "Too many failed login attempts. Please wait %(minutes)d minute and try again.",
                    "Too many failed login attempts. Please wait %(minutes)d minutes and try again.",
                    minutes,
                ) % {"minutes": minutes},
                code="too_many_attempts",
            )
        try:
            cleaned = super().clean()
        except ValidationError as exc:
            if username and any(e.code == "invalid_login" for e in exc.error_list):
                _record_failure(username=username, ip=ip)
            raise
        _forget_failures(username=username)
        return cleaned
