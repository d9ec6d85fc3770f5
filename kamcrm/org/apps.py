from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "kamcrm.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self):
        from kamcrm.audit.registry import register
        from kamcrm.org.models import OrgUnit, SharingRule, User

        register(OrgUnit, exclude=("path", "depth"))
        register(User, exclude=("password", "last_login"))
        register(SharingRule)
