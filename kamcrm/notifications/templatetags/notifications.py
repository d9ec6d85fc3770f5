"""{% notifications_unread as n %}: the bell's unread count, one bounded COUNT per request."""
from django import template

from kamcrm.notifications.selectors import unread_count_for_request

register = template.Library()


@register.simple_tag(takes_context=True)
def notifications_unread(context) -> dict:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {"count": 0, "capped": False}
    count, capped = unread_count_for_request(request)
    return {"count": count, "capped": capped}
