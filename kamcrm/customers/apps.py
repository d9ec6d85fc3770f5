from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "kamcrm.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self):
        from kamcrm.audit.registry import register
        from kamcrm.audit.timeline import register_kinds
        from kamcrm.customers.choices import InteractionKind
        from kamcrm.customers.models import Account, AccountTeamMember, Contact, Interaction

        register(Account, timeline=True)
        register(Contact, timeline=True)
        register(AccountTeamMember, timeline=True)
        register(Interaction)
        register_kinds(InteractionKind.choices)
