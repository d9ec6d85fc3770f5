"""kamcrm token_create --integration billing --scopes read,events [--name ...] [--rate-limit 600] [--expires 2027-01-01]

Prints the plain token once; only its hash is stored.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from kamcrm.core.context import Channel, change_context
from kamcrm.core.services import validation_error_dict
from kamcrm.integrations.models import Integration
from kamcrm.integrations.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for an integration and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--integration", required=True, help="The integration's code (source system).")
        parser.add_argument("--scopes", required=True, help="Comma-separated: read, write, import, events.")
        parser.add_argument("--name", default="", help="What the token is for (default: the date).")
        parser.add_argument("--rate-limit", type=int, default=600, help="Requests per minute (default 600).")
        parser.add_argument("--expires", default="", help="Expiry as ISO date or date-time (default: never).")

    def handle(self, *args, integration: str, scopes: str, name: str, rate_limit: int, expires: str, **options):
        found = Integration.objects.filter(code=integration).first()
        if found is None:
            raise CommandError(f"--integration: no integration with code {integration!r}.")
        expires_at = None
        if expires:
            expires_at = parse_datetime(expires)
            if expires_at is None and parse_date(expires) is not None:
                expires_at = parse_datetime(f"{expires}T00:00:00")
            if expires_at is None:
                raise CommandError(f"--expires: {expires!r} is not an ISO date or date-time.")
            if timezone.is_naive(expires_at):
                expires_at = timezone.make_aware(expires_at)
        try:
            with change_context(channel=Channel.SHELL):
                token, plain = api_token_create(integration=found, scopes=scopes, expires_at=expires_at,
                                                rate_limit_per_minute=rate_limit,
                                                name=name or f"token {timezone.localdate():%Y-%m-%d}")
        except ValidationError as exc:
            flags = {"scopes": "--scopes", "expires_at": "--expires", "rate_limit_per_minute": "--rate-limit"}
            raise CommandError("; ".join(f"{flags.get(k, k)}: {' '.join(v)}"
                                         for k, v in validation_error_dict(exc).items())) from None
        self.stderr.write(f"Created token {token.prefix}… for {found.code} with scopes {','.join(token.scopes)}. "
                          "It is shown only this once:")
        self.stdout.write(plain)
