from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    COMPANY = "company", _("company")
    BRANCH = "branch", _("branch")
    REGION = "region", _("region")
    DEPARTMENT = "department", _("department")
    TEAM = "team", _("team")


class Role(models.TextChoices):
    EXECUTIVE = "executive", _("executive")
    BUSINESS_MANAGEMENT = "business_management", _("business management")
    DEPARTMENT_HEAD = "department_head", _("department head")
    SALES_MANAGER = "sales_manager", _("sales manager")
    ACCOUNT_MANAGER = "account_manager", _("account manager")
    MARKETING = "marketing", _("marketing")
    SERVICE = "service", _("service")
    PARTNER_USER = "partner_user", _("partner user")
    ADMINISTRATOR = "administrator", _("administrator")


class Scope(models.TextChoices):
    """How far a role sees by itself, before account teams and sharing rules add to it."""

    ALL = "all", _("whole company")
    SUBTREE = "subtree", _("own unit and below")
    OWN = "own", _("own accounts and subordinates' accounts")


# One table for the whole rule, so that nobody has to hunt for it: (view scope, edit scope).
ROLE_SCOPES: dict[str, tuple[str, str]] = {
    Role.ADMINISTRATOR: (Scope.ALL, Scope.ALL),
    Role.EXECUTIVE: (Scope.ALL, Scope.OWN),
    Role.BUSINESS_MANAGEMENT: (Scope.SUBTREE, Scope.OWN),
    Role.DEPARTMENT_HEAD: (Scope.SUBTREE, Scope.SUBTREE),
    Role.SALES_MANAGER: (Scope.SUBTREE, Scope.SUBTREE),
    Role.MARKETING: (Scope.SUBTREE, Scope.OWN),
    Role.SERVICE: (Scope.SUBTREE, Scope.OWN),
    Role.ACCOUNT_MANAGER: (Scope.OWN, Scope.OWN),
    Role.PARTNER_USER: (Scope.OWN, Scope.OWN),
}


class Access(models.TextChoices):
    READ = "read", _("read")
    EDIT = "edit", _("edit")
