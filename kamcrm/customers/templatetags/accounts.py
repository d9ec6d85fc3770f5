"""{% tier_badge account %} and {% status_badge account %}: an account's tier and status as coloured badges.

Tags rather than included templates: a list page draws two per row, and an {% include %} costs a
template render each."""
from django import template
from django.utils.html import format_html

from kamcrm.customers.choices import AccountStatus, Tier

register = template.Library()

# Keyed by the plain values: a field holds str, and an enum member does not hash like its value.
TIER_CLASSES = {Tier.STRATEGIC.value: "bg-red-lt", Tier.KEY.value: "bg-orange-lt"}
STATUS_CLASSES = {AccountStatus.ACTIVE.value: "bg-green-lt", AccountStatus.PROSPECT.value: "bg-azure-lt",
                  AccountStatus.DORMANT.value: "bg-yellow-lt"}
OTHER = "bg-secondary-lt"


@register.simple_tag
def tier_badge(account) -> str:  # noqa: ANN001
    return format_html('<span class="badge {}" data-testid="tier-badge">{}</span>',
                       TIER_CLASSES.get(account.tier, OTHER), account.get_tier_display())


@register.simple_tag
def status_badge(account) -> str:  # noqa: ANN001
    return format_html('<span class="badge {}" data-testid="status-badge">{}</span>',
                       STATUS_CLASSES.get(account.status, OTHER), account.get_status_display())
