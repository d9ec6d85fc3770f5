from django.contrib import admin

from kamcrm.sales import rollup
from kamcrm.sales.models import FunnelAlert, FunnelRule, Stage


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["order", "code", "name_zh", "name_en", "kind", "default_probability", "is_active"]
    list_editable = ["name_zh", "name_en", "default_probability", "is_active"]
    list_display_links = ["code"]
    ordering = ["order"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and {"order", "kind"} & set(form.changed_data):
            rollup.rebuild()  # "furthest stage" follows the order and kind of the stages


@admin.register(FunnelRule)
class FunnelRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "unit", "product_line", "period", "task_owner", "is_active"]
    list_filter = ["kind", "period", "is_active"]
    autocomplete_fields = ["task_owner"]
    raw_id_fields = ["unit", "product_line"]


@admin.register(FunnelAlert)
class FunnelAlertAdmin(admin.ModelAdmin):
    list_display = ["rule", "period_key", "metric", "value", "threshold", "raised_at"]
    readonly_fields = [f.name for f in FunnelAlert._meta.fields]

    def has_add_permission(self, request):
        return False
