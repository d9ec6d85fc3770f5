"""The organisation: a tree of units, the people in it, and sharing rules."""
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from kamcrm.core.models import ExternalIdModel, TimeStampedModel
from kamcrm.org.choices import Access, Role, UnitKind


class OrgUnit(TimeStampedModel, ExternalIdModel):
    """A node of the organisation tree. `path` is materialised ("000001.000007.") so a subtree is
    one indexed prefix match; services keep it current when a unit is created or moved."""

    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=UnitKind.choices)
    parent = models.ForeignKey("self", verbose_name=_("parent unit"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    head = models.ForeignKey("org.User", verbose_name=_("head"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="headed_units")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta(ExternalIdModel.Meta):
        ordering = ["path"]
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser, ExternalIdModel):
    """A person: login, primary unit, manager and role."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    unit = models.ForeignKey(OrgUnit, verbose_name=_("primary unit"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="members")
    manager = models.ForeignKey("self", verbose_name=_("manager"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="reports")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices, default=Role.ACCOUNT_MANAGER)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    preferred_language = models.CharField(_("language"), max_length=10, blank=True,
                                          choices=[("zh-hans", "简体中文"), ("en", "English")])

    objects = UserManager()

    class Meta(ExternalIdModel.Meta):
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class SharingRule(TimeStampedModel):
    """Grants the accounts of one region (or any unit's subtree) to the people of another unit."""

    name = models.CharField(_("name"), max_length=100)
    source_unit = models.ForeignKey(OrgUnit, verbose_name=_("accounts of region/unit"), on_delete=models.CASCADE,
                                    related_name="shared_out")
    target_unit = models.ForeignKey(OrgUnit, verbose_name=_("granted to unit"), on_delete=models.CASCADE,
                                    related_name="shared_in")
    include_target_subtree = models.BooleanField(_("include the target's sub-units"), default=True)
    access = models.CharField(_("access"), max_length=10, choices=Access.choices, default=Access.READ)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("sharing rule")
        verbose_name_plural = _("sharing rules")

    def __str__(self) -> str:
        return self.name
