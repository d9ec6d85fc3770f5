"""Serializers of the targets API: metrics, plans (with their reviews), the plan grid, the bodies of
the writes (set, decompose, rebalance, review) and completion. Serializers only parse; the targets
services validate the rest (a negative month, over-allocation, a locked plan…) and write."""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kamcrm.core.api.serializers import DetailUrlField, DisplayField, ModelSerializer
from kamcrm.org.api.serializers import BriefOrgUnitSerializer, BriefUserSerializer
from kamcrm.org.models import OrgUnit, User
from kamcrm.products.models import ProductLine
from kamcrm.targets.choices import Period, PlanStatus, RebalanceMode
from kamcrm.targets.models import Metric, TargetPlan, TargetReview

__all__ = ["BriefMetricSerializer", "BriefPlanSerializer", "ChildSerializer", "CompletionQuerySerializer",
           "CompletionRowSerializer", "CompletionSerializer", "DecomposeSerializer", "GridQuerySerializer",
           "GridRowSerializer", "GridSerializer", "MetricField", "MetricSerializer", "PlanCreateSerializer",
           "PlanDetailSerializer", "PlanSerializer", "RankingQuerySerializer", "RankingSerializer",
           "RebalanceSerializer", "ReviewBodySerializer", "ReviewResultSerializer", "ReviewSerializer",
           "ReviseSerializer", "SetSerializer", "SubjectSerializer"]

MONEY = {"max_digits": 20, "decimal_places": 2}


@extend_schema_field({"type": "string", "description": "A metric's id or code."})
class MetricField(serializers.RelatedField):
    """A metric named by its id or its code."""

    default_error_messages = {"does_not_exist": _("No metric “%(value)s”; give a metric id or code.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Metric.objects.all())
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = str(data).strip()
        qs = self.get_queryset()
        metric = qs.filter(pk=int(value)).first() if value.isdigit() else None
        metric = metric or (qs.filter(code=value).first() if value else None)
        if metric is None:
            raise serializers.ValidationError(self.error_messages["does_not_exist"] % {"value": value})
        return metric

    def to_representation(self, value):
        return value.code


class BriefMetricSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:targetmetric-detail")
    label = serializers.CharField(read_only=True)

    class Meta:
        model = Metric
        fields = ["id", "url", "code", "label"]


class MetricSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:targetmetric-detail")
    label = serializers.CharField(read_only=True, help_text=_("The name in the request's language."))
    is_count = serializers.BooleanField(read_only=True, help_text=_("Counted in whole numbers, not money."))

    class Meta:
        model = Metric
        fields = ["id", "url", "code", "label", "name_zh", "name_en", "source", "is_count", "order", "is_active"]
        read_only_fields = fields


class BriefPlanSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:targetplan-detail")
    display = DisplayField()

    class Meta:
        model = TargetPlan
        fields = ["id", "url", "display", "year", "version", "status"]


class ReviewSerializer(ModelSerializer):
    unit = BriefOrgUnitSerializer(read_only=True)
    by = BriefUserSerializer(read_only=True, allow_null=True)

    class Meta:
        model = TargetReview
        fields = ["id", "unit", "action", "comment", "by", "at"]
        read_only_fields = fields


class PlanSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:targetplan-detail")
    display = DisplayField()
    supersedes = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    created_by = BriefUserSerializer(read_only=True, allow_null=True)
    approved_by = BriefUserSerializer(read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=PlanStatus.choices, read_only=True)

    class Meta:
        model = TargetPlan
        fields = ["id", "url", "display", "year", "version", "name", "status", "supersedes", "created_by",
                  "approved_at", "approved_by", "created_at", "updated_at"]
        read_only_fields = fields


class PlanDetailSerializer(PlanSerializer):
    reviews = ReviewSerializer(many=True, read_only=True, help_text=_("The approval steps, oldest first."))

    class Meta(PlanSerializer.Meta):
        fields = [*PlanSerializer.Meta.fields, "reviews"]
        read_only_fields = fields


class PlanCreateSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class ReviseSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


# ---- the grid -----------------------------------------------------------------------------------

class GridQuerySerializer(serializers.Serializer):
    metric = MetricField(required=False, help_text=_("Metric id or code (default: the first active metric)."))
    product_line = serializers.PrimaryKeyRelatedField(queryset=ProductLine.objects.all(), required=False)


class GridRowSerializer(serializers.Serializer):
    node = serializers.CharField(help_text=_("“u<unit id>” or “p<person id>” (with “/l<line id>” for a "
                                             "product line)."))
    unit = serializers.IntegerField(allow_null=True)
    person = serializers.IntegerField(allow_null=True)
    label = serializers.CharField()
    depth = serializers.IntegerField()
    is_person = serializers.BooleanField()
    is_unallocated = serializers.BooleanField()
    months = serializers.ListField(child=serializers.DecimalField(**MONEY), help_text=_("January to December."))
    total = serializers.DecimalField(**MONEY)
    out_of_balance = serializers.ListField(child=serializers.BooleanField(),
                                           help_text=_("Per month: the split below no longer adds up."))
    children_sum = serializers.ListField(child=serializers.DecimalField(**MONEY), allow_null=True,
                                         help_text=_("Children + unallocated per month, for a split row "
                                                     "(null where the row is not split)."))


class GridSerializer(serializers.Serializer):
    plan = BriefPlanSerializer()
    metric = BriefMetricSerializer()
    product_line = serializers.IntegerField(allow_null=True)
    out_of_balance = serializers.BooleanField(help_text=_("Any row in view is out of balance."))
    rows = GridRowSerializer(many=True)


# ---- writes -------------------------------------------------------------------------------------

class NodeMixin:
    """A node: a unit (`unit`) or a person (`person`), exactly one."""

    def node_from(self, attrs: dict[str, Any], errors: dict[str, list[str]], prefix: str = "") -> Any:
        unit, person = attrs.pop("unit", None), attrs.pop("person", None)
        if (unit is None) == (person is None):
            errors[f"{prefix}unit"] = [str(_("Give a unit or a person (one of them)."))]
            return None
        return unit or person


def _amounts_checked(value: Any) -> Any:
    if isinstance(value, list | dict):
        return value
    raise serializers.ValidationError(_("Give twelve amounts (January to December) or {month: amount}."))


@extend_schema_field({"oneOf": [{"type": "array", "items": {"type": "string", "format": "decimal"},
                                "minItems": 12, "maxItems": 12},
                               {"type": "object", "additionalProperties": {"type": "string", "format": "decimal"}}]})
class AmountsField(serializers.JSONField):
    """Twelve amounts (a list, January first) or some months ({"3": "1200.00"}); checked by the services."""

    def to_internal_value(self, data):
        return _amounts_checked(super().to_internal_value(data))


class SetSerializer(NodeMixin, serializers.Serializer):
    metric = MetricField()
    unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all(), required=False)
    person = serializers.PrimaryKeyRelatedField(queryset=User.objects.select_related("unit"), required=False)
    product_line = serializers.PrimaryKeyRelatedField(queryset=ProductLine.objects.all(), required=False)
    amounts = AmountsField(help_text=_("Twelve amounts, January first, or {month: amount} for some months."))

    def validate(self, attrs):
        errors: dict[str, list[str]] = {}
        attrs["node"] = self.node_from(attrs, errors)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ChildSerializer(NodeMixin, serializers.Serializer):
    unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all(), required=False)
    person = serializers.PrimaryKeyRelatedField(queryset=User.objects.select_related("unit"), required=False)
    amounts = AmountsField(required=False)
    share = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0, required=False)

    def validate(self, attrs):
        errors: dict[str, list[str]] = {}
        attrs["node"] = self.node_from(attrs, errors)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class DecomposeSerializer(serializers.Serializer):
    metric = MetricField()
    parent = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all(),
                                                help_text=_("The unit whose targets are split."))
    product_line = serializers.PrimaryKeyRelatedField(queryset=ProductLine.objects.all(), required=False)
    children = ChildSerializer(many=True, required=False, help_text=_(
        "Explicit amounts: [{unit|person, amounts}]; children not named keep what they have."))
    shares = ChildSerializer(many=True, required=False, help_text=_(
        "In proportion: [{unit|person, share}]; each part rounded down, the remainder stays unallocated."))

    def validate(self, attrs):
        children, shares = attrs.get("children"), attrs.get("shares")
        if bool(children) == bool(shares):
            raise serializers.ValidationError({"children": [str(_("Give either “children” (amounts) or "
                                                                  "“shares”, not both or neither."))]})
        errors: dict[str, list[str]] = {}
        key, need = ("children", "amounts") if children else ("shares", "share")
        for i, child in enumerate(children or shares):
            if child.get(need) is None:
                errors[f"{key}.{i}.{need}"] = [str(_("This field is required."))]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class RebalanceSerializer(serializers.Serializer):
    metric = MetricField(required=False, help_text=_("Only this metric (default: all)."))
    unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all(), required=False,
                                              help_text=_("Only this unit's subtree (default: the company)."))
    mode = serializers.ChoiceField(choices=RebalanceMode.choices, default=RebalanceMode.UNALLOCATED)


class ReviewBodySerializer(serializers.Serializer):
    unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all(), required=False,
                                              help_text=_("The level (default: the company, the whole plan)."))
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ReviewResultSerializer(serializers.Serializer):
    plan = PlanSerializer()
    review = ReviewSerializer()


# ---- completion ---------------------------------------------------------------------------------

SUBJECTS = [("me", _("myself")), ("unit", _("a unit")), ("person", _("a person"))]


class CompletionQuerySerializer(serializers.Serializer):
    subject = serializers.ChoiceField(choices=SUBJECTS, default="me")
    unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all(), required=False)
    person = serializers.PrimaryKeyRelatedField(queryset=User.objects.select_related("unit"), required=False)
    period = serializers.ChoiceField(choices=Period.choices, default=Period.MONTH)
    on = serializers.DateField(required=False, help_text=_("As of this day (default: today)."))
    metric = MetricField(required=False, help_text=_("Only this metric (default: every active metric)."))

    def validate(self, attrs):
        subject = attrs["subject"]
        if subject in ("unit", "person") and attrs.get(subject) is None:
            raise serializers.ValidationError({subject: [str(_("Choose one for this subject."))]})
        return attrs


class RankingQuerySerializer(serializers.Serializer):
    unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all(),
                                              help_text=_("Rank the units directly below it and its people."))
    metric = MetricField(required=False, help_text=_("Metric id or code (default: the first active metric)."))
    period = serializers.ChoiceField(choices=Period.choices, default=Period.MONTH)
    on = serializers.DateField(required=False)


class SubjectSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("unit", _("unit")), ("person", _("person"))])
    id = serializers.IntegerField()
    display = serializers.CharField()


class CompletionRowSerializer(serializers.Serializer):
    subject = SubjectSerializer()
    metric = BriefMetricSerializer()
    start = serializers.DateField()
    end = serializers.DateField()
    target = serializers.DecimalField(**MONEY)
    actual = serializers.DecimalField(**MONEY)
    pipeline = serializers.DecimalField(**MONEY, help_text=_("Weighted open pipeline closing in the period."))
    gap = serializers.DecimalField(**MONEY, help_text=_("target − actual − weighted pipeline."))
    ratio = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True,
                                     help_text=_("actual ÷ target, in per cent (null without a target)."))
    forecast = serializers.DecimalField(**MONEY)
    forecast_basis = serializers.ChoiceField(choices=[("pipeline", "pipeline"), ("run_rate", "run_rate")])
    forecast_basis_label = serializers.CharField()


class CompletionSerializer(serializers.Serializer):
    subject = SubjectSerializer()
    period = serializers.ChoiceField(choices=Period.choices)
    on = serializers.DateField()
    plan = BriefPlanSerializer(allow_null=True)
    rows = CompletionRowSerializer(many=True)


class RankingSerializer(serializers.Serializer):
    unit = BriefOrgUnitSerializer()
    metric = BriefMetricSerializer()
    period = serializers.ChoiceField(choices=Period.choices)
    on = serializers.DateField()
    plan = BriefPlanSerializer(allow_null=True)
    units = CompletionRowSerializer(many=True)
    people = CompletionRowSerializer(many=True)

