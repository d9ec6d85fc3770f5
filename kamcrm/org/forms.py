"""Input forms of the organisation UI. They parse and validate input; the views call the services.

Service ValidationErrors are put back on the form with `add_service_errors`, field by field.
"""
from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamcrm.core.models import AttributeDefinition, AttributeEntity, AttributeType
from kamcrm.core.services import validation_error_dict
from kamcrm.org.choices import Access, Role, UnitKind
from kamcrm.org.models import OrgUnit, SharingRule, User

__all__ = [
    "AttributeDefinitionForm",
    "OrgImportForm",
    "OrgUnitForm",
    "SharingRuleForm",
    "UserFilterForm",
    "UserForm",
    "UserPicker",
    "add_service_errors",
]

PICKER_FALLBACK_LIMIT = 200
IMPORT_MAX_BYTES = 5 * 1024 * 1024
INDENT = "\u00a0\u00a0"  # two no-break spaces per level of the tree


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError onto the form: known fields get field errors, the rest non-field."""
    for key, messages in validation_error_dict(exc).items():
        field = key if key in form.fields else None
        for message in messages:
            form.add_error(field, message)


def user_lookup_url() -> str | None:
    """The server-side user search the picker calls, if that URL is installed."""
    try:
        return reverse("user_lookup")
    except NoReverseMatch:
        return None


class StyledFormMixin:
    """Tabler classes on every widget, so templates render fields generically."""

    def _style(self) -> None:
        for field in self.fields.values():
            field.label = capfirst(field.label)
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class UnitChoiceField(forms.ModelChoiceField):
    """Units in tree order, indented by depth (the organisation has hundreds of units, not millions)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", OrgUnit.objects.order_by("path"))
        super().__init__(**kwargs)

    def label_from_instance(self, obj: OrgUnit) -> str:
        return f"{INDENT * obj.depth}{obj.name} ({obj.code})"


class UserPicker(forms.Select):
    """A user select that never renders every user.

    With a search URL it renders only the selected option and lets tom-select fetch the rest; without
    one (the lookup is not installed) it falls back to the first PICKER_FALLBACK_LIMIT users.
    """

    def __init__(self, *args, search_url: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.search_url = search_url
        if search_url:
            self.attrs["data-search-url"] = search_url

    def optgroups(self, name, value, attrs=None):
        selected = {str(v) for v in value if v not in (None, "")}
        users = list(User.objects.filter(pk__in=[v for v in selected if v.isdigit()]))
        if not self.search_url:
            users += list(User.objects.exclude(pk__in=[u.pk for u in users])
                          .order_by("display_name", "username")[:PICKER_FALLBACK_LIMIT])
        options = [self.create_option(name, "", "---------", not selected, 0, attrs=attrs)]
        for index, user in enumerate(users, start=1):
            label = f"{user} ({user.username})" if str(user) != user.username else user.username
            options.append(self.create_option(name, str(user.pk), label, str(user.pk) in selected, index, attrs=attrs))
        return [(None, options, 0)]


def user_choice_field(**kwargs) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(queryset=User.objects.all(), required=False,
                                  widget=UserPicker(search_url=user_lookup_url()), **kwargs)


class OrgUnitForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    code = forms.CharField(label=_("code"), max_length=40)
    kind = forms.ChoiceField(label=_("kind"), choices=UnitKind.choices)
    parent = UnitChoiceField(label=_("parent unit"), required=False)
    head = forms.ModelChoiceField(queryset=User.objects.all(), required=False)  # replaced in __init__
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["head"] = user_choice_field(label=_("head"))
        self._style()

    @classmethod
    def initial_for(cls, unit: OrgUnit) -> dict:
        return {"name": unit.name, "code": unit.code, "kind": unit.kind, "parent": unit.parent_id,
                "head": unit.head_id, "is_active": unit.is_active}


class UserForm(StyledFormMixin, forms.Form):
    username = forms.CharField(label=_("username"), max_length=150)
    display_name = forms.CharField(label=_("display name"), max_length=100)
    email = forms.EmailField(label=pgettext_lazy("field", "email"), required=False)
    phone = forms.CharField(label=_("phone"), max_length=30, required=False)
    unit = UnitChoiceField(label=_("primary unit"))
    manager = forms.ModelChoiceField(queryset=User.objects.all(), required=False)  # replaced in __init__
    role = forms.ChoiceField(label=_("role"), choices=Role.choices, initial=Role.ACCOUNT_MANAGER)
    preferred_language = forms.ChoiceField(label=_("language"), required=False,
                                           choices=[("", "---------"), ("zh-hans", "简体中文"), ("en", "English")])
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)
    password = forms.CharField(label=_("password"), required=False, strip=False,
                               widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))
    password_confirm = forms.CharField(label=_("password (again)"), required=False, strip=False,
                                       widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, instance: User | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance = instance
        self.fields["manager"] = user_choice_field(label=_("manager"))
        if instance is None:
            self.fields["password"].required = True
            self.fields["password_confirm"].required = True
        else:
            self.fields["password"].label = _("new password")
            self.fields["password"].help_text = _("Leave empty to keep the current password.")
            self.fields["password_confirm"].label = _("new password (again)")
        self._style()

    @classmethod
    def initial_for(cls, user: User) -> dict:
        return {"username": user.username, "display_name": user.display_name, "email": user.email,
                "phone": user.phone, "unit": user.unit_id, "manager": user.manager_id, "role": user.role,
                "preferred_language": user.preferred_language, "is_active": user.is_active}

    def clean(self):
        cleaned = super().clean()
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and password != confirm:
            self.add_error("password_confirm", _("The two passwords differ."))
        elif password:
            probe = self.instance or User(username=cleaned.get("username") or "",
                                          display_name=cleaned.get("display_name") or "",
                                          email=cleaned.get("email") or "")
            try:
                password_validation.validate_password(password, user=probe)
            except ValidationError as exc:
                self.add_error("password", exc)
        return cleaned

    def service_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k not in ("password", "password_confirm")}
        data["preferred_language"] = data.get("preferred_language") or ""
        return data


class UserFilterForm(StyledFormMixin, forms.Form):
    q = forms.CharField(label=_("search"), required=False)
    unit = UnitChoiceField(label=_("unit and its sub-units"), required=False)
    role = forms.ChoiceField(label=_("role"), required=False, choices=[("", _("any role")), *Role.choices])
    active = forms.ChoiceField(label=_("active"), required=False,
                               choices=[("", _("all")), ("1", _("active")), ("0", _("inactive"))])
    sort = forms.ChoiceField(label=_("sort"), required=False, choices=[
        ("username", _("username")), ("-username", _("username, descending")),
        ("display_name", _("display name")), ("-display_name", _("display name, descending")),
    ])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def filters(self) -> dict:
        """The valid filters (an invalid one is shown as an error and ignored)."""
        data = getattr(self, "cleaned_data", {})
        active = data.get("active")
        return {"q": data.get("q", ""), "unit": data.get("unit"), "role": data.get("role", ""),
                "active": {"1": True, "0": False}.get(active)}

    def sort_order(self) -> str:
        return (getattr(self, "cleaned_data", {}).get("sort") or "username")


class SharingRuleForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    source_unit = UnitChoiceField(label=_("accounts of region/unit"))
    target_unit = UnitChoiceField(label=_("granted to unit"))
    include_target_subtree = forms.BooleanField(label=_("include the target's sub-units"), required=False,
                                                initial=True)
    access = forms.ChoiceField(label=_("access"), choices=Access.choices, initial=Access.READ)
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    @classmethod
    def initial_for(cls, rule: SharingRule) -> dict:
        return {"name": rule.name, "source_unit": rule.source_unit_id, "target_unit": rule.target_unit_id,
                "include_target_subtree": rule.include_target_subtree, "access": rule.access,
                "is_active": rule.is_active}


class AttributeDefinitionForm(StyledFormMixin, forms.Form):
    entity = forms.ChoiceField(label=_("entity"), choices=AttributeEntity.choices)
    key = forms.CharField(label=_("key"), max_length=50,
                          help_text=_("Lower-case letters, digits and underscores; used in filters as attr_<key>."))
    label_zh = forms.CharField(label=_("label (Chinese)"), max_length=100)
    label_en = forms.CharField(label=_("label (English)"), max_length=100)
    type = forms.ChoiceField(label=_("type"), choices=AttributeType.choices)
    choices = forms.CharField(label=_("choices"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=_("For choice types: one allowed value per line."))
    required = forms.BooleanField(label=_("required"), required=False)
    filterable = forms.BooleanField(label=_("usable as list filter"), required=False, initial=True)
    min_value = forms.DecimalField(label=_("minimum"), required=False, max_digits=20, decimal_places=4)
    max_value = forms.DecimalField(label=_("maximum"), required=False, max_digits=20, decimal_places=4)
    max_length = forms.IntegerField(label=_("maximum length"), required=False, min_value=1)
    order = forms.IntegerField(label=_("order"), min_value=0, initial=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    @classmethod
    def initial_for(cls, d: AttributeDefinition) -> dict:
        return {"entity": d.entity, "key": d.key, "label_zh": d.label_zh, "label_en": d.label_en, "type": d.type,
                "choices": "\n".join(d.choices or []), "required": d.required, "filterable": d.filterable,
                "min_value": d.min_value, "max_value": d.max_value, "max_length": d.max_length, "order": d.order}

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["choices"] = [line.strip() for line in (data.get("choices") or "").splitlines() if line.strip()]
        return data


def _csv_upload(upload) -> bytes | None:
    if not upload:
        return None
    if not upload.name.lower().endswith(".csv"):
        raise ValidationError(_("Only .csv files can be imported."))
    if upload.size > IMPORT_MAX_BYTES:
        raise ValidationError(_("The file is larger than 5 MB."))
    return upload.read()


class OrgImportForm(StyledFormMixin, forms.Form):
    units = forms.FileField(label=_("organisation units (CSV)"), required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))
    users = forms.FileField(label=_("people (CSV)"), required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))
    dry_run = forms.BooleanField(label=_("dry run: check and count, write nothing"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean_units(self):
        return _csv_upload(self.cleaned_data.get("units"))

    def clean_users(self):
        return _csv_upload(self.cleaned_data.get("users"))

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("units") and not cleaned.get("users"):
            raise ValidationError(_("Choose a units file, a people file, or both."))
        return cleaned
