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
from kamcrm.poa.choices import CycleStatus, SubjectKind, WeeklyItemKind
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


# ---- weekly plans and reports ------------------------------------------------------------------------

WEEK = {"type": "week", "placeholder": "2026-W05"}


class WeekField(forms.CharField):
    """An ISO week as <input type="week"> sends it ("2026-W05"); cleans to (year, week)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs=WEEK))
        kwargs.setdefault("max_length", 10)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        from django.core.exceptions import ValidationError

        from kamcrm.poa.selectors import parse_week

        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return parse_week(value)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["week"]) from None

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, tuple):
            return f"{value[0]}-W{value[1]:02d}"
        return value


class WeekPickForm(TablerFormMixin, forms.Form):
    autofocus = False

    week = WeekField(label=_("Week"))


class WeeklyItemForm(TablerFormMixin, forms.Form):
    autofocus = False
    prefix = "item"

    kind = forms.ChoiceField(label=_("Kind"), choices=WeeklyItemKind.choices, initial=WeeklyItemKind.VISIT)
    title = forms.CharField(label=_("What"), max_length=200,
                            help_text=_("For example: visit the IT director about the 5G private network."))
    account = LookupChoiceField(Account.objects.all(), label=_("Account"), required=False,
                                search_url=ACCOUNT_LOOKUP, label_from=account_label)
    opportunity = forms.ModelChoiceField(label=_("Opportunity"), required=False, queryset=Opportunity.objects.none(),
                                         empty_label=_("None"))

    def __init__(self, *args: Any, person: User | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        show_selected(self, "account", Account)
        if person is not None:
            from kamcrm.sales.choices import StageKind

            # The person's own open opportunities (the ones a week advances); the service checks the rest.
            self.fields["opportunity"].queryset = (Opportunity.objects.filter(owner=person, stage__kind=StageKind.OPEN)
                                                   .select_related("account").order_by("account__name", "name"))
            self.fields["opportunity"].label_from_instance = lambda o: f"{o.name} · {o.account}"


class WeeklyReportForm(TablerFormMixin, forms.Form):
    """Per item "done?" (yes / no) and a note, then the summary and next week's focus. Initial answers come
    from the item, else from the week's records (selectors.suggest_outcomes); the summary from the figures."""

    autofocus = False
    prefix = "report"
    ANSWERS = [("yes", _("Done")), ("no", _("Not done"))]

    summary = forms.CharField(label=_("Summary"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    next_focus = forms.CharField(label=_("Next week's focus"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, items: list, suggested: dict[int, bool] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        suggested = suggested or {}
        self.items = items
        for item in items:
            done = item.done if item.done is not None else suggested.get(item.pk)
            self.fields[f"done_{item.pk}"] = forms.ChoiceField(
                label=item.title, required=False, choices=self.ANSWERS, widget=forms.RadioSelect,
                initial={True: "yes", False: "no"}.get(done))
            self.fields[f"note_{item.pk}"] = forms.CharField(
                label=_("Note"), required=False, max_length=300, initial=item.note)
        self.style_widgets()
        for item in items:
            self.fields[f"done_{item.pk}"].widget.attrs["class"] = "form-check-input"

    def rows(self) -> list[tuple]:
        return [(item, self[f"done_{item.pk}"], self[f"note_{item.pk}"]) for item in self.items]

    def outcomes(self) -> dict[int, tuple[bool | None, str]]:
        answer = {"yes": True, "no": False}
        return {item.pk: (answer.get(self.cleaned_data.get(f"done_{item.pk}") or ""),
                          self.cleaned_data.get(f"note_{item.pk}") or "") for item in self.items}


class ReviewForm(TablerFormMixin, forms.Form):
    autofocus = False
    prefix = "review"

    review_comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}))


class RollupFilterForm(TablerFormMixin, forms.Form):
    autofocus = False

    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False,
                                  empty_label=None)
    week = WeekField(label=_("Week"), required=False)

    def __init__(self, *args: Any, units=None, **kwargs: Any) -> None:  # noqa: ANN001
        super().__init__(*args, **kwargs)
        if units is not None:
            self.fields["unit"].queryset = units
            self.fields["unit"].label_from_instance = lambda u: ("\u00a0\u00a0" * u.depth) + u.name
