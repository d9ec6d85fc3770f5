"""kamcrm integration_create --code billing --name "计费系统" [--description ...]"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kamcrm.core.context import Channel, change_context
from kamcrm.core.services import validation_error_dict
from kamcrm.integrations.services import integration_create


class Command(BaseCommand):
    help = "Create an integration (another system) and its service user."

    def add_arguments(self, parser):
        parser.add_argument("--code", required=True, help="Source system code, e.g. billing.")
        parser.add_argument("--name", required=True)
        parser.add_argument("--description", default="")

    def handle(self, *args, code: str, name: str, description: str, **options):
        try:
            with change_context(channel=Channel.SHELL):
                integration = integration_create(code=code, name=name, description=description)
        except ValidationError as exc:
            raise CommandError("; ".join(f"--{k}: {' '.join(v)}" for k, v in validation_error_dict(exc).items())) from None
        self.stdout.write(f"Created integration {integration.code} (service user {integration.user.username}).")
