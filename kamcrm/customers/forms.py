"""Customers UI forms: input only. Views hand `cleaned_data` to a service; the service decides."""
from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamcrm.core.attributes import definitions_for
from kamcrm.core.forms import (
    BOOL_CHOICES,
    LookupChoiceField,
    TablerFormMixin,
    account_label,
    attribute_fields,
    attribute_values,
    show_selected,
    user_label,
)
from kamcrm.core.models import AttributeDefinition
from kamcrm.customers.choices import (
    AccountStatus,
    Channel,
    DecisionRole,
    Industry,
    InteractionKind,
    TeamRole,
    Tier,
)
from kamcrm.customers.models import Account, Contact
from kamcrm.org.choices import Access, UnitKind
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import EDIT, VIEW, can

__all__ = [
    "AccountFilterForm",
    "AccountForm",
    "ContactFilterForm",
    "ContactForm",
    "InteractionForm",
    "TeamMemberForm",
]

USER_LOOKUP = reverse_lazy("user_lookup")
ACCOUNT_LOOKUP = reverse_lazy("customers:account_lookup")
DATE_ATTRS = {"class": "js-date", "autocomplete": "off", "placeholder": "YYYY-MM-DD"}


def region_queryset():
    return OrgUnit.objects.filter(kind__in=[UnitKind.BRANCH, UnitKind.REGION], is_active=True).order_by("path")




def _invalid_choice() -> forms.ValidationError:
    # The same words as an unknown id, so that the form does not tell which ids exist.
    return forms.ValidationError(forms.ModelChoiceField.default_error_messages["invalid_choice"],
                                 code="invalid_choice")


def _split_tags(value: str) -> list[str]:
    return sorted({t.strip() for t in value.replace("，", ",").split(",") if t.strip()})


# ---- accounts -----------------------------------------------------------------------------------

class AccountFilterForm(TablerFormMixin, forms.Form):
    """The account list's filters; the same names the AccountFilterSet and the API take."""

    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.TextInput(attrs={"type": "search", "data-testid": "account-search",
                                                      "placeholder": _("Name, short name or credit code")}))
    tier = forms.MultipleChoiceField(label=_("Tier"), required=False, choices=Tier.choices,
                                     widget=forms.SelectMultiple(attrs={"class": "js-choices"}))
    industry = forms.MultipleChoiceField(label=_("Industry"), required=False, choices=Industry.choices,
                                         widget=forms.SelectMultiple(attrs={"class": "js-choices"}))
    status = forms.MultipleChoiceField(label=_("Status"), required=False, choices=AccountStatus.choices,
                                       widget=forms.SelectMultiple(attrs={"class": "js-choices"}))
    region = forms.ModelChoiceField(label=_("Region"), required=False, queryset=OrgUnit.objects.none(),
                                    empty_label=_("Any region"))
    owner = LookupChoiceField(User.objects.filter(is_active=True), label=_("Account manager"), required=False,
                              search_url=USER_LOOKUP, label_from=user_label)
    is_group = forms.TypedChoiceField(label=_("Group customers"), required=False, choices=BOOL_CHOICES,
                                      coerce=lambda v: v == "true", empty_value=None)
    tag = forms.CharField(label=_("Tag"), required=False)

    def __init__(self, *args: Any, definitions: list[AttributeDefinition] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = region_queryset()
        self.fields["owner"].queryset = User.objects.all()
        defs = definitions if definitions is not None else [
            d for d in definitions_for("account") if d.filterable]
        self.attribute_names = attribute_fields(self, defs, for_filter=True)
        self.style_widgets()
        show_selected(self, "owner", User)

    def active_filters(self) -> dict[str, Any]:
        """The non-empty filters as a flat list of (name, value) pairs, to carry into links."""
        return {k: v for k, v in self.data.lists() if k in self.fields and any(x != "" for x in v)} \
            if self.is_bound else {}


class AccountForm(TablerFormMixin, forms.Form):
    """Create or edit an account. Owner and parent are pickers fed by the lookups."""

    name = forms.CharField(label=_("Name"), max_length=200)
    short_name = forms.CharField(label=_("Short name"), max_length=60, required=False)
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=18, required=False,
                                  help_text=_("18 characters, as printed on the business licence."))
    tier = forms.ChoiceField(label=_("Tier"), choices=Tier.choices, initial=Tier.NORMAL)
    industry = forms.ChoiceField(label=_("Industry"), choices=Industry.choices, initial=Industry.OTHER)
    status = forms.ChoiceField(label=_("Status"), choices=AccountStatus.choices, initial=AccountStatus.ACTIVE)
    region = forms.ModelChoiceField(label=_("Region"), queryset=OrgUnit.objects.none())
    owner = LookupChoiceField(User.objects.filter(is_active=True), label=_("Account manager"),
                              search_url=USER_LOOKUP, label_from=user_label)
    parent = LookupChoiceField(Account.objects.all(), label=_("Group customer (parent)"), required=False,
                               search_url=ACCOUNT_LOOKUP, label_from=account_label,
                               help_text=_("Leave empty unless this account is a subsidiary of a group customer."))
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separate tags with commas."))
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    website = forms.CharField(label=_("Website"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    MODEL_FIELDS = ["name", "short_name", "credit_code", "tier", "industry", "status", "region", "owner", "parent",
                    "address", "website", "phone", "description"]

    def __init__(self, *args: Any, user: User, account: Account | None = None, **kwargs: Any) -> None:
        self.user, self.account = user, account
        self.definitions = definitions_for("account")
        if account is not None and "initial" not in kwargs:
            initial = {name: getattr(account, name) for name in self.MODEL_FIELDS}
            initial["tags"] = ", ".join(account.tags or [])
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = region_queryset()
        self.attribute_names = attribute_fields(self, self.definitions,
                                                values=account.attributes if account is not None else None)
        self.style_widgets()
        show_selected(self, "owner", User)
        show_selected(self, "parent", Account)

    def clean_parent(self) -> Account | None:
        parent = self.cleaned_data.get("parent")
        unchanged = self.account is not None and parent is not None and parent.pk == self.account.parent_id
        if parent is not None and not unchanged and not can(self.user, parent, VIEW):
            raise _invalid_choice()
        return parent

    def service_data(self) -> dict[str, Any]:
        """cleaned_data in the shape account_create / account_update take."""
        data = {name: self.cleaned_data[name] for name in self.MODEL_FIELDS}
        data["tags"] = _split_tags(self.cleaned_data["tags"])
        data["attributes"] = attribute_values(self, self.definitions)
        return data

    def field_groups(self) -> list[tuple[str, list]]:
        groups = [
            (_("Profile"), ["name", "short_name", "credit_code", "tier", "industry", "status"]),
            (_("Ownership and group"), ["region", "owner", "parent", "tags"]),
            (_("Contact details"), ["address", "website", "phone", "description"]),
        ]
        if self.attribute_names:
            groups.append((_("Custom attributes"), self.attribute_names))
        return [(title, [self[name] for name in names]) for title, names in groups]


# ---- contacts -----------------------------------------------------------------------------------

STRENGTH_CHOICES = [("", "—"), *[(str(n), str(n)) for n in range(1, 6)]]


class ContactFilterForm(TablerFormMixin, forms.Form):
    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.TextInput(attrs={"type": "search", "data-testid": "contact-search",
                                                      "placeholder": _("Name, mobile or email")}))
    account = LookupChoiceField(Account.objects.all(), label=_("Account"), required=False, search_url=ACCOUNT_LOOKUP,
                                label_from=account_label)
    decision_role = forms.MultipleChoiceField(label=_("Decision role"), required=False, choices=DecisionRole.choices,
                                              widget=forms.SelectMultiple(attrs={"class": "js-choices"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        show_selected(self, "account", Account)

    def active_filters(self) -> dict[str, Any]:
        return {k: v for k, v in self.data.lists() if k in self.fields and any(x != "" for x in v)} \
            if self.is_bound else {}


class ContactForm(TablerFormMixin, forms.Form):
    account = LookupChoiceField(Account.objects.all(), label=_("Account"), search_url=ACCOUNT_LOOKUP,
                                label_from=account_label)
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=100)
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    department = forms.CharField(label=_("Department"), max_length=100, required=False)
    mobile = forms.CharField(label=_("Mobile"), max_length=30, required=False)
    phone = forms.CharField(label=_("Office phone"), max_length=30, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    decision_role = forms.ChoiceField(label=_("Decision role"), required=False,
                                      choices=[("", "—"), *DecisionRole.choices])
    relationship_strength = forms.TypedChoiceField(label=_("Relationship strength"), required=False,
                                                   choices=STRENGTH_CHOICES, coerce=int, empty_value=None,
                                                   help_text=_("1 (cold) to 5 (trusted)"))
    birthday = forms.DateField(label=_("Birthday"), required=False, widget=forms.DateInput(attrs=DATE_ATTRS,
                                                                                           format="%Y-%m-%d"))
    preferred_channel = forms.ChoiceField(label=_("Preferred channel"), required=False,
                                          choices=[("", "—"), *Channel.choices])
    is_primary = forms.BooleanField(label=_("Primary contact"), required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    MODEL_FIELDS = ["account", "name", "title", "department", "mobile", "phone", "email", "decision_role",
                    "relationship_strength", "birthday", "preferred_channel", "is_primary", "notes"]

    def __init__(self, *args: Any, user: User, contact: Contact | None = None, **kwargs: Any) -> None:
        self.user = user
        self.definitions = definitions_for("contact")
        if contact is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(contact, name) for name in self.MODEL_FIELDS}
        super().__init__(*args, **kwargs)
        self.attribute_names = attribute_fields(self, self.definitions,
                                                values=contact.attributes if contact is not None else None)
        self.style_widgets()
        show_selected(self, "account", Account)
        if self.initial.get("account") and not self.is_bound:
            # Coming from an account page: start typing the name.
            self.fields["account"].widget.attrs.pop("autofocus", None)
            self.fields["name"].widget.attrs["autofocus"] = True

    def clean_account(self) -> Account:
        account = self.cleaned_data["account"]
        if not can(self.user, account, EDIT):
            raise _invalid_choice()
        return account

    def service_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in self.MODEL_FIELDS}
        data["attributes"] = attribute_values(self, self.definitions)
        return data


# ---- account team -------------------------------------------------------------------------------

class TeamMemberForm(TablerFormMixin, forms.Form):
    user = LookupChoiceField(User.objects.filter(is_active=True), label=_("Member"), search_url=USER_LOOKUP,
                             label_from=user_label)
    team_role = forms.ChoiceField(label=_("Team role"), choices=TeamRole.choices, initial=TeamRole.SALES_SUPPORT)
    access = forms.ChoiceField(label=_("Access"), choices=Access.choices, initial=Access.READ,
                               help_text=_("Read: sees the account. Edit: may also change it."))
    valid_from = forms.DateField(label=_("Valid from"), required=False,
                                 widget=forms.DateInput(attrs=DATE_ATTRS, format="%Y-%m-%d"))
    valid_to = forms.DateField(label=_("Valid to"), required=False,
                               widget=forms.DateInput(attrs=DATE_ATTRS, format="%Y-%m-%d"))
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    DATA_FIELDS = ["team_role", "access", "valid_from", "valid_to", "reason"]

    def __init__(self, *args: Any, member=None, **kwargs: Any) -> None:  # noqa: ANN001
        if member is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(member, name) for name in ["user", *self.DATA_FIELDS]}
        super().__init__(*args, **kwargs)
        if member is not None:
            # The member of an existing row does not change; remove and add someone else instead.
            del self.fields["user"]
            self.fields["team_role"].widget.attrs["autofocus"] = True
        else:
            show_selected(self, "user", User)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("valid_from"), cleaned.get("valid_to")
        if start and end and end < start:
            self.add_error("valid_to", _("“Valid to” must not be before “valid from”."))
        return cleaned

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.DATA_FIELDS}


# ---- timeline -----------------------------------------------------------------------------------

class InteractionForm(TablerFormMixin, forms.Form):
    """Log a note, call, visit, email or meeting on the account's timeline."""

    autofocus = False  # sits below the profile on the 360 page; do not steal the focus

    kind = forms.ChoiceField(label=_("Kind"), choices=InteractionKind.choices, initial=InteractionKind.NOTE)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    occurred_at = forms.DateTimeField(label=_("When"), required=False,
                                      help_text=_("Leave empty for now."),
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                 format="%Y-%m-%dT%H:%M"))
    contact = forms.ModelChoiceField(label=_("Contact"), required=False, queryset=Contact.objects.none(),
                                     empty_label="—")
    opportunity = forms.ModelChoiceField(label=_("Opportunity"), required=False, queryset=None, empty_label="—")
    follow_up_on = forms.DateField(label=_("Follow up on"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}),
                                   help_text=_("Gives you a task for that day."))

    def __init__(self, *args: Any, account: Account, contacts: list[Contact] | None = None, **kwargs: Any) -> None:
        from kamcrm.sales.models import Opportunity

        super().__init__(*args, **kwargs)
        self.fields["opportunity"].queryset = Opportunity.objects.filter(account=account).order_by("-updated_at")
        field = self.fields["contact"]
        field.queryset = Contact.objects.filter(account=account)
        if contacts is not None:
            # Offer the contacts the page already shows; validation still takes any of the account's.
            field.widget.choices = [("", "—"), *[(c.pk, str(c)) for c in contacts]]
        self.fields["kind"].widget.attrs["data-testid"] = "interaction-kind"

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name]
                for name in ["kind", "subject", "body", "occurred_at", "contact", "opportunity", "follow_up_on"]}

