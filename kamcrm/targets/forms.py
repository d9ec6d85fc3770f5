"""Filters of the target pages."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kamcrm.core.forms import TablerFormMixin
from kamcrm.org.models import OrgUnit, User
from kamcrm.targets.choices import Period
from kamcrm.targets.models import Metric


class PlanGridForm(TablerFormMixin, forms.Form):
    autofocus = False

    metric = forms.ModelChoiceField(label=_("Metric"), required=False, to_field_name="code",
                                    queryset=Metric.objects.filter(is_active=True), empty_label=None)


class CompletionFilterForm(TablerFormMixin, forms.Form):
    autofocus = False

    unit = forms.ModelChoiceField(label=_("Unit"), required=False, queryset=OrgUnit.objects.filter(is_active=True),
                                  empty_label=_("Myself"))
    person = forms.ModelChoiceField(label=_("Person"), required=False, queryset=User.objects.none(),
                                    widget=forms.HiddenInput)
    period = forms.ChoiceField(label=_("Period"), required=False, choices=Period.choices, initial=Period.MONTH)
    on = forms.DateField(label=_("As of"), required=False)
    metric = forms.ModelChoiceField(label=_("Ranking by"), required=False, to_field_name="code",
                                    queryset=Metric.objects.filter(is_active=True), empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = User.objects.filter(is_active=True).select_related("unit")
