"""`{% attachment_panel owner %}`: the attachments card of any registered record (see _panel.html)."""
from django import template

register = template.Library()


@register.inclusion_tag("attachments/_card.html", takes_context=True)
def attachment_panel(context, owner):  # noqa: ANN001, ANN201
    from kamcrm.attachments.views import panel_context

    return {**panel_context(context["request"], owner), "request": context["request"],
            "csrf_token": context.get("csrf_token")}
