"""Serializers of tasks, visits, sales plans and funnel alerts: shape only; the services validate."""
from __future__ import annotations

from rest_framework import serializers

from kamcrm.activities.models import SalesPlan, Task, Visit
from kamcrm.core.api.serializers import ModelSerializer
from kamcrm.customers.models import Account, Contact
from kamcrm.org.models import User
from kamcrm.products.models import Product
from kamcrm.sales.models import FunnelAlert, Opportunity


class TaskSerializer(ModelSerializer):
    assignee = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all(), required=False, allow_null=True)
    opportunity = serializers.PrimaryKeyRelatedField(queryset=Opportunity.objects.all(), required=False,
                                                     allow_null=True)

    class Meta:
        model = Task
        fields = ["id", "title", "description", "assignee", "created_by", "due_on", "status", "done_at", "source",
                  "account", "opportunity", "created_at", "updated_at"]
        read_only_fields = ["id", "created_by", "status", "done_at", "source", "created_at", "updated_at"]


class TaskStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["open", "done", "cancelled"])


class VisitSerializer(ModelSerializer):
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    contacts = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all(), many=True, required=False)
    opportunity = serializers.PrimaryKeyRelatedField(queryset=Opportunity.objects.all(), required=False,
                                                     allow_null=True)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)

    class Meta:
        model = Visit
        fields = ["id", "account", "owner", "opportunity", "sales_plan", "starts_at", "ends_at", "location",
                  "contacts", "purpose", "preparation", "status", "outcome", "next_step", "follow_up_on",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "status", "outcome", "next_step", "follow_up_on", "created_at", "updated_at"]


class VisitRecordSerializer(serializers.Serializer):
    outcome = serializers.CharField()
    next_step = serializers.CharField(required=False, allow_blank=True, default="")
    follow_up_on = serializers.DateField(required=False, allow_null=True, default=None)


class SalesPlanSerializer(ModelSerializer):
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    opportunity = serializers.PrimaryKeyRelatedField(queryset=Opportunity.objects.all(), required=False,
                                                     allow_null=True)
    helpers = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True), many=True,
                                                 required=False)
    products = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all(), many=True, required=False)

    class Meta:
        model = SalesPlan
        fields = ["id", "title", "account", "owner", "opportunity", "deadline", "helpers", "products", "steps",
                  "status", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class FunnelAlertSerializer(ModelSerializer):
    rule = serializers.CharField(source="rule.name")
    kind = serializers.CharField(source="rule.kind")
    unit = serializers.IntegerField(source="rule.unit_id", allow_null=True)

    class Meta:
        model = FunnelAlert
        fields = ["id", "rule", "kind", "unit", "period_key", "raised_at", "metric", "value", "threshold",
                  "opportunity_ids", "task"]
