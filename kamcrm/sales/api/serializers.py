"""Serializers of stages, opportunities (with their lines, contacts and collaborators), stage history,
the funnel and the funnel health rules. Bodies name related records by id or, for records fed from another system, by a
natural key (`account_external_id` in the same source system, `owner_username`, `product_code`).
Serializers only parse; the sales services validate the rest and write."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from kamcrm.core.api.serializers import (
    AttributesField,
    BriefRelatedField,
    DetailUrlField,
    DisplayField,
    ModelSerializer,
    ReferenceSerializerMixin,
    resolve_reference,
)
from kamcrm.customers.api.serializers import BriefAccountSerializer
from kamcrm.customers.models import Account, Contact
from kamcrm.org.api.serializers import BriefOrgUnitSerializer, BriefUserSerializer
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import visible
from kamcrm.products.api.serializers import BriefProductLineSerializer, BriefProductSerializer
from kamcrm.products.models import Product, ProductLine
from kamcrm.sales.models import FunnelRule, Opportunity, OpportunityLine, OpportunityStageChange, Stage

__all__ = ["BriefFunnelRuleSerializer", "BriefOpportunitySerializer", "BriefStageSerializer",
           "FunnelQuerySerializer", "FunnelRuleSerializer", "FunnelSerializer", "OpportunityLineSerializer",
           "OpportunityMoveSerializer", "OpportunitySerializer", "StageChangeSerializer", "StageSerializer"]


class BriefStageSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:stage-detail")
    display = DisplayField()

    class Meta:
        model = Stage
        fields = ["id", "url", "display", "code", "kind"]


class StageSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:stage-detail")
    display = DisplayField()
    required_fields = serializers.ListField(child=serializers.CharField(), read_only=True)
    exit_criteria = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Stage
        fields = ["id", "url", "display", "code", "name_zh", "name_en", "kind", "order", "default_probability",
                  "required_fields", "exit_criteria", "is_active"]
        read_only_fields = fields


class BriefOpportunitySerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:opportunity-detail")
    display = DisplayField()

    class Meta:
        model = Opportunity
        fields = ["id", "url", "display", "name"]


class OpportunityLineSerializer(ModelSerializer):
    product = BriefRelatedField(BriefProductSerializer, queryset=Product.objects.all(), required=False)
    product_code = serializers.CharField(write_only=True, required=False,
                                         help_text=_("The product by its code, instead of `product`."))
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False,
                                          allow_null=True, help_text=_("Defaults to the product's list price."))

    class Meta:
        model = OpportunityLine
        fields = ["id", "product", "quantity", "unit_price", "amount", "product_code"]
        read_only_fields = ["id", "amount"]

    def validate(self, attrs):
        errors: dict[str, list[str]] = {}
        resolve_reference(attrs, errors, field="product", alt="product_code",
                          lookup=lambda v: Product.objects.filter(code=v).first(),
                          missing=str(_("No product with code “%(value)s”.")))
        if errors:
            raise serializers.ValidationError(errors)
        if attrs.get("product") is None:
            raise serializers.ValidationError({"product": [str(_("This field is required."))]})
        return attrs


def _source_system(serializer: serializers.Serializer, attrs: dict) -> str:
    if "source_system" in serializer.context:
        return serializer.context["source_system"]
    if "source_system" in attrs:
        return attrs["source_system"]
    return getattr(serializer.instance, "source_system", "") or ""


class OpportunitySerializer(ReferenceSerializerMixin, ModelSerializer):
    url = DetailUrlField(view_name="api:opportunity-detail")
    display = DisplayField()
    account = BriefRelatedField(BriefAccountSerializer, queryset=Account.objects.all(), scope=visible,
                                required=False)
    owner = BriefRelatedField(BriefUserSerializer, queryset=User.objects.filter(is_active=True), required=False,
                              help_text=_("Defaults to the user making the request."))
    owner_unit = BriefOrgUnitSerializer(read_only=True)
    stage = BriefRelatedField(BriefStageSerializer, queryset=Stage.objects.filter(is_active=True), required=False,
                              help_text=_("On create only (defaults to the first open stage); later the stage "
                                          "changes through `POST /opportunities/{id}/move/`."))
    weighted_amount = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    lines = OpportunityLineSerializer(many=True, required=False,
                                      help_text=_("Product lines; when given they replace the old ones and "
                                                  "make the amount."))
    contacts = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=Contact.objects.all(),
                                                  help_text=_("Ids of the account's contacts involved."))
    # Any user id: the service refuses an inactive one with a message on `collaborators`.
    collaborators = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=User.objects.all(),
        help_text=_("Ids of active users from any unit, partners included, who help win it; when given they "
                    "replace the old ones."))
    attributes = AttributesField(required=False)
    account_external_id = serializers.CharField(
        write_only=True, required=False,
        help_text=_("The account by its external id in the same source system, instead of `account`."))
    owner_username = serializers.CharField(write_only=True, required=False,
                                           help_text=_("The owner by login name, instead of `owner`."))
    required_on_create = {"account": "account_external_id"}

    class Meta:
        model = Opportunity
        fields = ["id", "url", "display", "account", "name", "owner", "owner_unit", "stage", "stage_entered_at",
                  "probability", "amount", "weighted_amount", "currency", "expected_close_date", "closed_on",
                  "source", "competitor", "lost_reason", "description", "lines", "contacts", "collaborators",
                  "attributes", "source_system", "external_id", "created_at", "updated_at",
                  "account_external_id", "owner_username"]
        read_only_fields = ["stage_entered_at", "closed_on", "created_at", "updated_at"]
        validators: list = []
        extra_kwargs = {"probability": {"required": False, "allow_null": True, "min_value": 0, "max_value": 100}}

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        # Only contacts of accounts the caller may see can be named (the service checks the account).
        fields["contacts"].child_relation.queryset = visible(Contact.objects.all(), user)
        return fields

    def validate(self, attrs):
        errors: dict[str, list[str]] = {}
        user = getattr(self.context.get("request"), "user", None)
        source = _source_system(self, attrs)
        resolve_reference(attrs, errors, field="account", alt="account_external_id",
                          lookup=lambda v: visible(Account.objects.filter(source_system=source, external_id=v),
                                                   user).first(),
                          missing=str(_("No account with external id “%(value)s” in this source system.")))
        resolve_reference(attrs, errors, field="owner", alt="owner_username",
                          lookup=lambda v: User.objects.filter(username=v, is_active=True).first(),
                          missing=str(_("No active user with login name “%(value)s”.")))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class OpportunityMoveSerializer(serializers.Serializer):
    stage = serializers.CharField(help_text=_("The stage to move to: its id or its code (e.g. “negotiation”)."))
    lost_reason = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                        help_text=_("Needed when moving to a lost or abandoned stage."))


class StageChangeSerializer(ModelSerializer):
    from_stage = BriefStageSerializer(read_only=True, allow_null=True)
    to_stage = BriefStageSerializer(read_only=True)
    changed_by = BriefUserSerializer(read_only=True, allow_null=True)

    class Meta:
        model = OpportunityStageChange
        fields = ["id", "from_stage", "to_stage", "changed_at", "changed_by", "amount", "probability", "owner",
                  "owner_unit", "expected_close_date", "left_at", "seconds_in_stage"]
        read_only_fields = fields


class FunnelQuerySerializer(serializers.Serializer):
    unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all(), required=False,
                                              help_text=_("Only opportunities owned in this unit's subtree."))
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False)
    product_line = serializers.PrimaryKeyRelatedField(queryset=ProductLine.objects.all(), required=False)
    close_from = serializers.DateField(required=False)
    close_to = serializers.DateField(required=False)
    as_of = serializers.DateField(required=False, help_text=_("Rebuild the funnel as it stood at the end of this "
                                                              "day, from the stage history."))

    def validate(self, attrs):
        if attrs.get("close_from") and attrs.get("close_to") and attrs["close_from"] > attrs["close_to"]:
            raise serializers.ValidationError({"close_to": [str(_("Must not be before “close_from”."))]})
        return attrs


class FunnelRowSerializer(serializers.Serializer):
    stage = BriefStageSerializer(allow_null=True)
    label = serializers.CharField(allow_null=True)
    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    weighted = serializers.DecimalField(max_digits=20, decimal_places=2)
    reached = serializers.IntegerField()
    conversion = serializers.FloatField(allow_null=True, help_text=_("Share of those that reached this stage "
                                                                     "that reached the next one (open stages)."))
    avg_days = serializers.FloatField(allow_null=True, help_text=_("Average completed stay in the stage, days."))


class FunnelTotalSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    weighted = serializers.DecimalField(max_digits=20, decimal_places=2)


class FunnelTotalsSerializer(serializers.Serializer):
    open = FunnelTotalSerializer()
    won = FunnelTotalSerializer()
    lost = FunnelTotalSerializer()


class FunnelSerializer(serializers.Serializer):
    as_of = serializers.DateField(allow_null=True)
    rows = FunnelRowSerializer(many=True)
    totals = FunnelTotalsSerializer()


class BriefFunnelRuleSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:funnelrule-detail")
    display = DisplayField()

    class Meta:
        model = FunnelRule
        fields = ["id", "url", "display", "name", "kind", "is_active"]


class FunnelRuleSerializer(ModelSerializer):
    """A funnel health rule. Only the shape is checked here; funnel_rule_save checks the parameters
    against the check (as for the form)."""

    url = DetailUrlField(view_name="api:funnelrule-detail")
    display = DisplayField()
    unit = BriefRelatedField(BriefOrgUnitSerializer, queryset=OrgUnit.objects.all(), required=False, allow_null=True,
                             help_text=_("The unit whose pipeline (its subtree) is checked; null: the whole company."))
    product_line = BriefRelatedField(BriefProductLineSerializer, queryset=ProductLine.objects.all(), required=False,
                                     allow_null=True, help_text=_("Only opportunities with a line of it; null: all."))
    task_owner = BriefRelatedField(BriefUserSerializer, queryset=User.objects.filter(is_active=True),
                                   help_text=_("The active user who gets the follow-up task."))
    params = serializers.DictField(
        required=False,
        help_text=_("The check's parameters: thin_top {k, top_stages}; low_conversion {stage, periods}; "
                    "stale_deals {percentile}; no_activity {days}. Left out on a change: kept."))

    class Meta:
        model = FunnelRule
        fields = ["id", "url", "display", "name", "kind", "unit", "product_line", "params", "period", "task_owner",
                  "is_active", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
