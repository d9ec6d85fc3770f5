"""Customers: accounts (with group hierarchy), contacts, account teams and logged interactions."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamcrm.core.models import ExternalIdModel, TimeStampedModel
from kamcrm.core.validators import validate_credit_code
from kamcrm.customers.choices import (
    AccountStatus,
    Channel,
    DecisionRole,
    Industry,
    InteractionKind,
    TeamRole,
    Tier,
)
from kamcrm.org.choices import Access


class Account(TimeStampedModel, ExternalIdModel):
    # Path from this model to the account, used by the visibility selector (see org.selectors).
    ACCOUNT_PATH = ""

    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True,
                                   validators=[validate_credit_code])
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices, default=Industry.OTHER)
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices, default=Tier.NORMAL)
    status = models.CharField(_("status"), max_length=20, choices=AccountStatus.choices, default=AccountStatus.ACTIVE)
    region = models.ForeignKey("org.OrgUnit", verbose_name=_("region"), on_delete=models.PROTECT,
                               related_name="region_accounts")
    parent = models.ForeignKey("self", verbose_name=_("group customer (parent)"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="subsidiaries")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account manager"),
                              on_delete=models.PROTECT, related_name="owned_accounts")
    # The owner's unit when ownership was set: keeps "accounts of my subtree" one indexed filter.
    owner_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("owning unit"), on_delete=models.PROTECT,
                                   related_name="owned_accounts", editable=False)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    description = models.TextField(_("description"), blank=True)
    attributes = models.JSONField(_("custom attributes"), default=dict, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            *ExternalIdModel.Meta.constraints,
            models.UniqueConstraint(fields=["credit_code"], condition=~Q(credit_code=""),
                                    name="customers_account_credit_code_uniq"),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="customers_account_not_own_parent"),
        ]
        indexes = [
            models.Index(fields=["name", "id"], name="acct_name_id"),
            models.Index(fields=["-updated_at", "-id"], name="acct_updated_id"),
            # the list filtered by region and tier, in name order; owner and owning unit last so that the
            # visibility predicate and the bounded count are read from the index alone (a branch head's
            # count of 10,000 rows 22 -> 2 ms on SQLite, 14 -> 4 ms on PostgreSQL, at 100,000 accounts)
            models.Index(fields=["region", "tier", "name", "id", "owner", "owner_unit"], name="acct_region_tier_name"),
            models.Index(fields=["tier", "name", "id"], name="acct_tier_name"),
            models.Index(fields=["owner", "name", "id"], name="acct_owner_name"),
            # a rep's list filtered by tier (and region): the page in name order and its bounded count
            # read from the index alone (the count of a rep's 10,000 rows 7.5 -> 1.5 ms at S=0.1)
            models.Index(fields=["owner", "tier", "name", "id", "region"], name="acct_owner_tier_name"),
            models.Index(fields=["owner_unit", "name", "id"], name="acct_ownerunit_name"),
            # the unfiltered list's bounded count for a manager (owners OR owning units): read from this
            # narrow index alone instead of the table (8.6-11.3 -> 1.7-2.6 ms at 100,000 accounts)
            models.Index(fields=["owner_unit", "owner"], name="acct_ownerunit_owner"),
            models.Index(fields=["industry", "name", "id"], name="acct_industry_name"),
            models.Index(fields=["status", "name", "id"], name="acct_status_name"),
            models.Index(fields=["short_name"], name="acct_short_name"),
            # targets: new key accounts by creation day and owning unit (completion, the unit × month grid)
            # (not partial: PostgreSQL re-parses an IN-list condition into another text, and the bulk
            # loader's drop-and-rebuild of indexes must give back the same definitions)
            models.Index(fields=["created_at", "owner_unit"], name="acct_key_created"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(TimeStampedModel, ExternalIdModel):
    ACCOUNT_PATH = "account__"

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(pgettext_lazy("person", "name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=30, blank=True)
    phone = models.CharField(_("office phone"), max_length=30, blank=True)
    email = models.EmailField(pgettext_lazy("field", "email"), blank=True)
    decision_role = models.CharField(_("decision role"), max_length=20, choices=DecisionRole.choices, blank=True)
    relationship_strength = models.PositiveSmallIntegerField(
        _("relationship strength"), null=True, blank=True,
        help_text=_("1 (cold) to 5 (trusted)"),
    )
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    preferred_channel = models.CharField(_("preferred channel"), max_length=20, choices=Channel.choices, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    attributes = models.JSONField(_("custom attributes"), default=dict, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            *ExternalIdModel.Meta.constraints,
            models.CheckConstraint(
                condition=Q(relationship_strength__isnull=True)
                | Q(relationship_strength__gte=1, relationship_strength__lte=5),
                name="customers_contact_strength_1_5",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "name", "id"], name="contact_account_name"),
            # the account 360's contacts card: primary first, then by name (a skewed account has 50,000)
            models.Index(fields=["account", "-is_primary", "name", "id"], name="contact_account_primary"),
            models.Index(fields=["name", "id"], name="contact_name_id"),
            models.Index(fields=["mobile"], name="contact_mobile"),
            models.Index(fields=["email"], name="contact_email"),
        ]

    def __str__(self) -> str:
        return self.name


class AccountTeamMember(TimeStampedModel):
    """A person serving an account beyond its owner, from any unit or region, for a period."""

    ACCOUNT_PATH = "account__"

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("member"), on_delete=models.CASCADE,
                             related_name="account_teams")
    team_role = models.CharField(_("team role"), max_length=30, choices=TeamRole.choices, default=TeamRole.SALES_SUPPORT)
    access = models.CharField(_("access"), max_length=10, choices=Access.choices, default=Access.READ)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["account", "team_role", "id"]
        verbose_name = _("account team member")
        verbose_name_plural = _("account team members")
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], name="customers_team_account_user_uniq"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="customers_team_valid_range",
            ),
        ]
        indexes = [models.Index(fields=["user", "account"], name="team_user_account")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.account}"


class Interaction(TimeStampedModel):
    """A logged note, call, visit, email or meeting with a customer."""

    ACCOUNT_PATH = "account__"

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="interactions")
    contact = models.ForeignKey(Contact, verbose_name=_("contact"), null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="interactions")
    kind = models.CharField(_("kind"), max_length=20, choices=InteractionKind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    occurred_at = models.DateTimeField(_("when"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("logged by"), null=True,
                               on_delete=models.SET_NULL, related_name="+")
    # The deal it was about, if any: it then shows on the opportunity as well as on the account.
    opportunity = models.ForeignKey("sales.Opportunity", verbose_name=_("opportunity"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="interactions")
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [models.Index(fields=["account", "-occurred_at", "-id"], name="interaction_account_time"),
                   models.Index(fields=["opportunity", "-occurred_at"], name="interaction_opp_time")]

    def __str__(self) -> str:
        return self.subject


class AccountOwnership(models.Model):
    """Who owned an account when. Written at each reassignment (the first one also records the period of
    the owner before it), so "who owned this account on 1 March" is one indexed query; an account never
    reassigned has no rows: its owner is its owner since it was created."""

    ACCOUNT_PATH = "account__"

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="ownerships")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account manager"), on_delete=models.PROTECT,
                              related_name="+")
    owner_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("owning unit"), on_delete=models.PROTECT,
                                   related_name="+")
    valid_from = models.DateField(_("from"))
    valid_to = models.DateField(_("to"), null=True, blank=True, help_text=_("Empty: the current owner."))
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("changed by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["account", "valid_from", "id"]
        verbose_name = _("account ownership")
        verbose_name_plural = _("account ownership history")
        indexes = [models.Index(fields=["account", "valid_from"], name="ownership_account_from"),
                   models.Index(fields=["owner", "valid_from"], name="ownership_owner_from")]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.owner_id} {self.valid_from}–{self.valid_to or ''}"


class AccountSearchGram(models.Model):
    """The search index of account names: each two-character piece ("gram") of the lower-cased name and
    short name, padded at the end (see customers/search.py). Written only by database triggers, so that
    every write path keeps it (saves, bulk writes, QuerySet.update(), the generator's COPY); read only
    by customers.search. No foreign-key constraint: the delete trigger removes an account's grams."""

    pk = models.CompositePrimaryKey("gram", "account")
    gram = models.CharField(max_length=2)
    account = models.ForeignKey(Account, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")

    class Meta:
        verbose_name = _("account search gram")
        verbose_name_plural = _("account search grams")

    def __str__(self) -> str:
        return f"{self.gram} → {self.account_id}"


class ContactSearchGram(models.Model):
    """The same for contact names."""

    pk = models.CompositePrimaryKey("gram", "contact")
    gram = models.CharField(max_length=2)
    contact = models.ForeignKey(Contact, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")

    class Meta:
        verbose_name = _("contact search gram")
        verbose_name_plural = _("contact search grams")

    def __str__(self) -> str:
        return f"{self.gram} → {self.contact_id}"
