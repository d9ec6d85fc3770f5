"""Forms for visits and sales plans."""
from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kamcrm.core.forms import LookupChoiceField, TablerFormMixin, user_label
from kamcrm.customers.forms import USER_LOOKUP
from kamcrm.customers.models import Contact
from kamcrm.org.models import User
from kamcrm.sales.models import Opportunity


def _show_owner(form: forms.Form, user: User) -> None:
    value = form.data.get("owner") if form.is_bound else form.initial.get("owner")
    obj = value if isinstance(value, User) else None
    if obj is None and value:
        try:
            obj = User.objects.select_related("unit").filter(pk=int(value)).first()
        except (TypeError, ValueError):
            obj = None
    form.fields["owner"].show_selected(obj or user)


class VisitForm(TablerFormMixin, forms.Form):
    purpose = forms.CharField(label=_("Purpose"), max_length=200)
    owner = LookupChoiceField(User.objects.filter(is_active=True), label=_("Visitor"), search_url=USER_LOOKUP,
                              label_from=user_label)
    starts_at = forms.DateTimeField(label=_("Starts at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                                     format="%Y-%m-%dT%H:%M"))
    ends_at = forms.DateTimeField(label=_("Ends at"), required=False,
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
                                  help_text=_("One hour after the start when left empty."))
    location = forms.CharField(label=_("Location"), max_length=200, required=False)
    contacts = forms.ModelMultipleChoiceField(label=_("Contacts to meet"), queryset=Contact.objects.none(),
                                              required=False)
    opportunity = forms.ModelChoiceField(label=_("Opportunity"), queryset=Opportunity.objects.none(), required=False)
    preparation = forms.CharField(label=_("Preparation"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, account, user: User, **kwargs: Any) -> None:  # noqa: ANN001
        kwargs.setdefault("initial", {}).setdefault("owner", user.pk)
        super().__init__(*args, **kwargs)
        self.fields["contacts"].queryset = Contact.objects.filter(account=account).order_by("name")
        self.fields["opportunity"].queryset = Opportunity.objects.filter(account=account).order_by("-updated_at")
        self.style_widgets()
        _show_owner(self, user)


class VisitRecordForm(TablerFormMixin, forms.Form):
    outcome = forms.CharField(label=_("Outcome"), widget=forms.Textarea(attrs={"rows": 3}))
    next_step = forms.CharField(label=_("Next step"), max_length=200, required=False)
    follow_up_on = forms.DateField(label=_("Follow up on"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                   help_text=_("Makes a task for the visitor on that day."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()


class SalesPlanForm(TablerFormMixin, forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    owner = LookupChoiceField(User.objects.filter(is_active=True), label=_("Owner"), search_url=USER_LOOKUP,
                              label_from=user_label)
    deadline = forms.DateField(label=_("Deadline"), widget=forms.DateInput(attrs={"type": "date"}))
    opportunity = forms.ModelChoiceField(label=_("Opportunity"), queryset=Opportunity.objects.none(), required=False)
    steps = forms.CharField(label=_("Steps"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                            help_text=_("One step per line."))

    def __init__(self, *args: Any, account, user: User, **kwargs: Any) -> None:  # noqa: ANN001
        kwargs.setdefault("initial", {}).setdefault("owner", user.pk)
        super().__init__(*args, **kwargs)
        self.fields["opportunity"].queryset = Opportunity.objects.filter(account=account).order_by("-updated_at")
        self.style_widgets()
        _show_owner(self, user)
