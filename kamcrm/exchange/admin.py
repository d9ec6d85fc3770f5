"""Django admin: the export log, read-only (it is written only by exports)."""
from django.contrib import admin

from kamcrm.exchange.models import ExportLog


@admin.register(ExportLog)
class ExportLogAdmin(admin.ModelAdmin):
    list_display = ["finished_at", "username", "entity", "format", "channel", "row_count", "completed", "duration_ms"]
    list_filter = ["entity", "format", "channel", "completed"]
    search_fields = ["username"]
    date_hierarchy = "finished_at"
    list_select_related = ["user"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
