"""The form of a funnel health rule: the check's parameters as plain fields."""
from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kamcrm.core.forms import LookupChoiceField, TablerFormMixin, user_label
from kamcrm.customers.forms import USER_LOOKUP
from kamcrm.org.models import OrgUnit, User
from kamcrm.products.models import ProductLine
from kamcrm.sales.choices import RuleKind, RulePeriod, StageKind
from kamcrm.sales.models import FunnelRule, Stage


class FunnelRuleForm(TablerFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Check"), choices=RuleKind.choices)
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.order_by("path"), required=False,
                                  empty_label=_("The whole company"))
    product_line = forms.ModelChoiceField(label=_("Product line"), queryset=ProductLine.objects.order_by("code"),
                                          required=False, empty_label=_("All product lines"))
    period = forms.ChoiceField(label=_("At most once per"), choices=RulePeriod.choices, initial=RulePeriod.MONTH)
    task_owner = LookupChoiceField(User.objects.filter(is_active=True), label=_("Task for"), search_url=USER_LOOKUP,
                                   label_from=user_label)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    k = forms.FloatField(label=_("k (thin top: the pipeline must reach k × the gap)"), required=False, min_value=0.1)
    top_stages = forms.IntegerField(label=_("Top stages (thin top)"), required=False, min_value=1)
    stage = forms.ChoiceField(label=_("Stage (low conversion)"), required=False)
    periods = forms.IntegerField(label=_("Periods for the median (low conversion)"), required=False, min_value=3)
    percentile = forms.IntegerField(label=_("Percentile (stale deals)"), required=False, min_value=50, max_value=99)
    days = forms.IntegerField(label=_("Days without activity (no activity)"), required=False, min_value=1)

    MAIN = ("name", "kind", "unit", "product_line", "period", "task_owner", "is_active")
    PARAMS = ("k", "top_stages", "stage", "periods", "percentile", "days")

    def __init__(self, *args: Any, rule: FunnelRule | None = None, **kwargs: Any) -> None:
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": rule.name, "kind": rule.kind, "unit": rule.unit_id,
                                 "product_line": rule.product_line_id, "period": rule.period,
                                 "task_owner": rule.task_owner_id, "is_active": rule.is_active, **rule.params}
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [("", "—")] + [
            (s.code, s.label) for s in Stage.objects.filter(kind=StageKind.OPEN, is_active=True).order_by("order")]
        self.style_widgets()
        owner = self.data.get("task_owner") if self.is_bound else self.initial.get("task_owner")
        try:
            self.fields["task_owner"].show_selected(User.objects.select_related("unit").filter(pk=int(owner)).first()
                                                    if owner else None)
        except (TypeError, ValueError):
            pass

    def service_data(self) -> dict[str, Any]:
        c = self.cleaned_data
        data = {name: c[name] for name in ("name", "kind", "unit", "product_line", "period", "task_owner", "is_active")}
        data["params"] = {name: c[name] for name in self.PARAMS if c.get(name) not in (None, "")}
        return data
