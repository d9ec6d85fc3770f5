"""`kamcrm import_data FILE --mapping NAME [--set FIELD=VALUE ...] [--dry-run]`: import a file in the
foreground, through the same job, checks and audit as the UI, and print the outcome."""
import copy
import sys
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from kamcrm.exchange.import_files import detect_format, open_table
from kamcrm.exchange.import_services import import_errors_csv, import_job_create, template_steps
from kamcrm.exchange.importing import import_job_run
from kamcrm.exchange.models import ImportMapping, ImportRowError, ImportStatus
from kamcrm.org.models import User


class Command(BaseCommand):
    help = "Import a CSV or .xlsx file with a saved mapping (or a template file for one entity)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--mapping", help="A saved mapping's name (see `kamcrm import_mapping list`).")
        parser.add_argument("--entity", help="Without --mapping: a file made from this entity's template.")
        parser.add_argument("--source", default="", help="Source system (default: the mapping's).")
        parser.add_argument("--set", action="append", default=[], metavar="[STEP.]FIELD=VALUE",
                            help="A constant for a field, e.g. --set region=EAST or --set 2.unit=SALES (steps count from 1).")
        parser.add_argument("--dry-run", action="store_true", help="Check every row, write nothing.")
        parser.add_argument("--user", help="Import as this user (their permissions apply); default: none (full rights).")
        parser.add_argument("--errors", help="Write the rejected rows' report (CSV) to this path.")

    def handle(self, *args, path, mapping=None, entity=None, source="", dry_run=False, user=None, errors=None, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"no file {file}")
        saved = None
        if mapping:
            saved = ImportMapping.objects.filter(name=mapping).first()
            if saved is None:
                raise CommandError(f"no mapping called {mapping!r}; `kamcrm import_mapping builtin` saves the shipped ones")
            steps, source = copy.deepcopy(saved.steps), source or saved.source_system
        elif entity:
            with file.open("rb") as fh:
                fmt = detect_format(file.name, fh.read(8))
            steps = template_steps(entity, open_table(file, fmt).headers)
        else:
            raise CommandError("give --mapping or --entity")
        for item in options["set"]:
            target, _sep, value = item.partition("=")
            step_no, _dot, field = target.rpartition(".")
            index = int(step_no) - 1 if step_no else 0
            if not field or not 0 <= index < len(steps):
                raise CommandError(f"--set {item}: expected [STEP.]FIELD=VALUE")
            steps[index].setdefault("fields", {})[field] = {"value": value}
        actor = None
        if user:
            actor = User.objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"no user {user!r}")
        try:
            with file.open("rb") as fh:
                job = import_job_create(by=actor, file=fh, file_name=file.name, mapping=saved, steps=steps,
                                        source_system=source, dry_run=dry_run, enqueue=False)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from None
        verbose = options["verbosity"] >= 1

        def progress(j):
            if verbose:
                phase = "checked" if j.status == ImportStatus.VALIDATING else "written"
                done = j.total_rows if j.status == ImportStatus.VALIDATING else j.rows_done
                self.stderr.write(f"\r{j.job_id}: {done} rows {phase}", ending="")

        job = import_job_run(job.pk, progress=progress)
        if verbose:
            self.stderr.write("")
        self.stdout.write(f"{job.job_id} {job.get_status_display()}: {job.total_rows} rows, {job.bad_rows} rejected"
                          + (" (dry run, nothing written)" if job.dry_run else ""))
        for step_no, counts in sorted(job.counts.items()):
            entity_name = job.steps[int(step_no)]["entity"]
            self.stdout.write(f"  step {int(step_no) + 1} ({entity_name}): "
                              + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        if job.error_message:
            self.stdout.write(f"  error: {job.error_message}")
        for error in ImportRowError.objects.filter(job=job).order_by("line", "id")[:10]:
            self.stdout.write(f"  line {error.line}, {error.column}: {error.message}")
        if errors:
            with open(errors, "wb") as out:
                for chunk in import_errors_csv(job):
                    out.write(chunk)
            self.stdout.write(f"  rejected rows written to {errors}")
        if job.status != ImportStatus.DONE:
            sys.exit(1)
