"""`manage.py import_org --units units.csv --users people.csv [--dry-run]`: the CSV import from a shell.

Prints every problem as `<file>: line N, column X: message` and exits non-zero when there is any;
otherwise prints the counts. See kamcrm/org/importers.py for the columns and rules.
"""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kamcrm.org.importers import UNITS, USERS, org_import
from kamcrm.org.models import User


class Command(BaseCommand):
    help = "Import organisation units and people from CSV files (all or nothing; idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--units", type=Path, help="CSV of organisation units")
        parser.add_argument("--users", type=Path, help="CSV of people")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument("--by", metavar="USERNAME", help="record this user as the actor in the audit log")

    def handle(self, *args, units=None, users=None, dry_run=False, by=None, **options):
        if units is None and users is None:
            raise CommandError("Give --units FILE, --users FILE, or both.")
        data = {}
        for kind, path in ((UNITS, units), (USERS, users)):
            if path is not None:
                try:
                    data[kind] = path.read_bytes()
                except OSError as exc:
                    raise CommandError(f"{kind}: cannot read {path}: {exc.strerror}") from None
        actor = None
        if by:
            actor = User.objects.filter(username=by).first()
            if actor is None:
                raise CommandError(f"--by: no user “{by}”.")
        result = org_import(units=data.get(UNITS), users=data.get(USERS), dry_run=dry_run, actor=actor)
        if result.errors:
            names = {UNITS: str(units), USERS: str(users)}
            for error in result.errors:
                self.stderr.write(f"{names[error.file]}: {error}")
            raise CommandError(f"{len(result.errors)} problem(s) found; nothing was written.")
        for kind in (UNITS, USERS):
            if kind in data:
                c = result.counts[kind]
                self.stdout.write(f"{kind}: {c['created']} created, {c['updated']} updated, {c['unchanged']} unchanged")
        self.stdout.write("dry run: nothing was written" if dry_run else f"done (job id {result.job_id})")
