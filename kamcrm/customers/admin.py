"""Django admin for customers: read-only.

Accounts, contacts, teams and interactions are written only through customers.services (owner unit,
custom-attribute validation, the visibility gate, the timeline), which the product UI and the API
call; the admin is for looking records up.
"""
from django.contrib import admin

from kamcrm.customers.models import Account, AccountTeamMember, Contact, Interaction


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False  # counting a million rows on every page is not worth it

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["name", "short_name", "tier", "status", "region", "owner", "updated_at"]
    list_filter = ["tier", "status", "industry"]
    search_fields = ["name", "short_name", "credit_code", "external_id"]
    list_select_related = ["region", "owner"]
    raw_id_fields = ["parent", "owner", "region"]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["name", "account", "title", "decision_role", "mobile", "email"]
    list_filter = ["decision_role"]
    search_fields = ["name", "mobile", "email", "account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]


@admin.register(AccountTeamMember)
class AccountTeamMemberAdmin(ReadOnlyAdmin):
    list_display = ["account", "user", "team_role", "access", "valid_from", "valid_to"]
    list_filter = ["team_role", "access"]
    search_fields = ["account__name", "user__username", "user__display_name"]
    list_select_related = ["account", "user"]
    raw_id_fields = ["account", "user"]


@admin.register(Interaction)
class InteractionAdmin(ReadOnlyAdmin):
    list_display = ["subject", "kind", "account", "author", "occurred_at"]
    list_filter = ["kind"]
    search_fields = ["subject", "account__name"]
    list_select_related = ["account", "author"]
    raw_id_fields = ["account", "contact", "author"]
