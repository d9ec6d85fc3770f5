"""Background work of the exchange app (Django's Tasks API; the worker is `kamcrm db_worker`)."""
from django_tasks import task

from kamcrm.exchange.importing import import_job_run


@task()
def run_import(job_id: int) -> None:
    """Run or resume one import job; safe to run twice (a live job's lease keeps a second worker out)."""
    import_job_run(job_id)
