"""`kamcrm import_resume [--job N]`: resume imports whose worker died (lease run out) or that failed.

Without --job it resumes every stalled job (queued, validating or writing, with an expired lease);
`make run` calls it before starting the worker, and a production host can run it from a timer.
Each job goes back on the task queue (with --now: runs here, in the foreground) and goes on from its
last committed batch."""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from kamcrm.exchange.import_services import import_job_resume
from kamcrm.exchange.importing import import_job_run
from kamcrm.exchange.models import ImportJob


class Command(BaseCommand):
    help = "Resume stalled (or the given failed) import jobs from their last committed batch."

    def add_arguments(self, parser):
        parser.add_argument("--job", type=int, help="The job's number (import-N); may be a failed job.")
        parser.add_argument("--now", action="store_true", help="Run the jobs here instead of queuing them.")

    def handle(self, *args, job=None, now=False, **options):
        if job is not None:
            jobs = list(ImportJob.objects.filter(pk=job))
            if not jobs:
                raise CommandError(f"no import job {job}")
        else:
            jobs = list(ImportJob.objects.filter(status__in=ImportJob.ACTIVE, attempts__gt=0)
                        .filter(Q(lease_until__lte=timezone.now())))
        for found in jobs:
            try:
                import_job_resume(job=found, enqueue=not now)
            except ValidationError as exc:
                raise CommandError(f"{found.job_id}: {' '.join(exc.messages)}") from None
            if not now:
                self.stdout.write(f"{found.job_id} queued again")
                continue
            result = import_job_run(found.pk)
            if result is not None:
                self.stdout.write(f"{result.job_id} {result.get_status_display()}: {result.rows_done} rows written, "
                                  f"{result.bad_rows} rejected")
        if not jobs and options["verbosity"] >= 1:
            self.stdout.write("no stalled import")
