"""The registry of webhook event types: the only types a subscription may ask for.

Emitted today: account.* and contact.* (by `kamcrm.customers.services`). The others are registered so that
subscriptions can be set up now; the apps that own those records emit them when they exist.
"""
from django.utils.translation import gettext_lazy as _

EVENT_TYPES: dict[str, str] = {
    "account.created": _("Account created"),
    "account.changed": _("Account changed"),
    "contact.created": _("Contact created"),
    "contact.changed": _("Contact changed"),
    "opportunity.stage_changed": _("Opportunity stage changed"),
    "agreement.signed": _("Agreement signed"),
    "invoice.overdue": _("Invoice overdue"),
    "payment.received": _("Payment received"),
}


def event_type_choices() -> list[tuple[str, str]]:
    return list(EVENT_TYPES.items())
