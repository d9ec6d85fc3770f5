"""Forms of the POA pages: the list's filters, a new plan, and one form per PDCA step."""
from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from kamcrm.core.forms import (
    LookupChoiceField,
    TablerFormMixin,
    account_label,
    show_selected,
    user_label,
)
from kamcrm.customers.models import Account
from kamcrm.org.models import OrgUnit, User
from kamcrm.poa.choices import CycleStatus, SubjectKind
from kamcrm.products.models import ProductLine
from kamcrm.sales.models import Opportunity
from kamcrm.targets.models import Metric

USER_LOOKUP = reverse_lazy("user_lookup")
ACCOUNT_LOOKUP = reverse_lazy("customers:account_lookup")
DATE = {"type": "date"}




class PlanFilterForm(TablerFormMixin, forms.Form):
    autofocus = False

    kind = forms.ChoiceField(label=_("About"), required=False,
                             choices=[("", _("Any subject")), *SubjectKind.choices])
    status = forms.ChoiceField(label=_("Step"), required=False,
                               choices=[("", _("Any step")), ("none", _("No cycle yet")), *CycleStatus.choices])
    mine = forms.BooleanField(label=_("Plans I own"), required=False)

    def active_filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "", False)}


class PlanForm(TablerFormMixin, forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("About"), choices=SubjectKind.choices, initial=SubjectKind.PERSON)
    account = LookupChoiceField(Account.objects.all(), label=_("Account"), required=False,
                                search_url=ACCOUNT_LOOKUP, label_from=account_label)
    opportunity = forms.ModelChoiceField(label=_("Opportunity"), required=False, queryset=Opportunity.objects.all(),
                                         widget=forms.HiddenInput)
    unit = forms.ModelChoiceField(label=_("Unit"), required=False,
                                  queryset=OrgUnit.objects.filter(is_active=True).order_by("path"))
    person = LookupChoiceField(User.objects.filter(is_active=True), label=_("Person"), required=False,
                               search_url=USER_LOOKUP, label_from=user_label,
                               help_text=_("Empty: a plan about yourself."))
    owner = LookupChoiceField(User.objects.filter(is_active=True), label=_("Owner"), required=False,
                              search_url=USER_LOOKUP, label_from=user_label, help_text=_("Empty: yourself."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        show_selected(self, "account", Account)
        show_selected(self, "person", User)
        show_selected(self, "owner", User)

    def subject(self, user: User):  # noqa: ANN201
        kind = self.cleaned_data["kind"]
        subject = self.cleaned_data.get(kind)
        if subject is None and kind == SubjectKind.PERSON:
            return user
        return subject


class CycleOpenForm(TablerFormMixin, forms.Form):
    autofocus = False
    prefix = "cycle"

    period_start = forms.DateField(label=_("Period start"), widget=forms.DateInput(attrs=DATE))
    period_end = forms.DateField(label=_("Period end"), widget=forms.DateInput(attrs=DATE))


class ObjectiveForm(TablerFormMixin, forms.Form):
    autofocus = False
    prefix = "objective"

    metric = forms.ModelChoiceField(label=_("Metric"), queryset=Metric.objects.filter(is_active=True)
                                    .order_by("order", "id"), empty_label=None)
    product_line = forms.ModelChoiceField(label=_("Product line"), required=False,
                                          queryset=ProductLine.objects.order_by("code"), empty_label=_("All lines"))
    target = forms.DecimalField(label=_("Target"), min_value=0, max_digits=18, decimal_places=2)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class ActionForm(TablerFormMixin, forms.Form):
    autofocus = False
    prefix = "action"

    title = forms.CharField(label=_("Action"), max_length=200)
    owner = LookupChoiceField(User.objects.filter(is_active=True), label=_("Owner"), required=False,
                              search_url=USER_LOOKUP, label_from=user_label, help_text=_("Empty: yourself."))
    due_on = forms.DateField(label=_("Due date"), widget=forms.DateInput(attrs=DATE))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        show_selected(self, "owner", User)


class FeedbackForm(TablerFormMixin, forms.Form):
    autofocus = False
    prefix = "feedback"

    feedback = forms.CharField(label=_("Feedback"), widget=forms.Textarea(attrs={"rows": 4}),
                               help_text=_("What was learnt, and what changes in the next cycle. Required before "
                                           "the next cycle opens."))
