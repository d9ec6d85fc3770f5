"""Django admin for the audit log and the timeline: read-only (no add, change or delete)."""
from django.contrib import admin

from kamcrm.audit.models import ObjectChange, TimelineEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}  # not even "delete selected"


@admin.register(ObjectChange)
class ObjectChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "actor_name", "channel", "action", "content_type", "object_repr", "job_id"]
    list_filter = ["channel", "action", "content_type"]
    search_fields = ["object_repr", "actor_name", "request_id", "job_id"]
    list_select_related = ["content_type"]
    raw_id_fields = ["actor"]


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "kind", "summary", "account"]
    list_filter = ["kind"]
    search_fields = ["summary"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "actor"]
