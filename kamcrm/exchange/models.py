"""Models of the exchange app: the export log, import mappings, import jobs and their row errors."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    XLSX = "xlsx", _("Excel (.xlsx)")


class ExportChannel(models.TextChoices):
    UI = "ui", _("UI")
    API = "api", _("API")


class ExportLog(models.Model):
    """Who exported what: one row per export, written when its stream finishes (or is cut off)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True,
                             on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(_("username"), max_length=150, help_text=_("Kept if the user is deleted."))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    entity = models.CharField(_("entity"), max_length=40)
    format = models.CharField(_("format"), max_length=10, choices=ExportFormat.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=ExportChannel.choices)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    sort = models.CharField(_("sort"), max_length=40, blank=True)
    row_count = models.PositiveIntegerField(_("rows"))
    completed = models.BooleanField(_("completed"), default=True,
                                    help_text=_("False when the download was cut off before the last row."))

    class Meta:
        ordering = ["-id"]
        verbose_name = _("export log entry")
        verbose_name_plural = _("export log")
        indexes = [
            models.Index(fields=["user", "-id"], name="exportlog_user_id"),
            models.Index(fields=["entity", "-id"], name="exportlog_entity_id"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.entity}.{self.format} ({self.row_count})"


# --- Imports (kamcrm/exchange/importing.py) -------------------------------------------------------


class ImportMapping(models.Model):
    """A saved way to read one source's files: which column feeds which field, with value maps and
    constants, for one or more entities in order (e.g. units, then the people in them)."""

    name = models.SlugField(_("name"), max_length=80, unique=True,
                            help_text=_("Lower-case letters, digits, hyphens and underscores; the CLI uses it."))
    description = models.CharField(_("description"), max_length=200, blank=True)
    source_system = models.CharField(_("source system"), max_length=40,
                                     help_text=_("The system the files come from; with the external id it makes "
                                                 "each record's key, so importing again updates instead of adding."))
    # [{"entity": "account", "fields": {"name": {"column": "account"}, ...}, "options": {...}}, ...]
    steps = models.JSONField(_("steps"), default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("import mapping")
        verbose_name_plural = _("import mappings")

    def __str__(self) -> str:
        return self.name

    @property
    def entities(self) -> list[str]:
        return [step.get("entity", "") for step in self.steps or []]


class ImportStatus(models.TextChoices):
    DRAFT = "draft", _("mapping columns")
    QUEUED = "queued", _("queued")
    VALIDATING = "validating", _("validating")
    WRITING = "writing", _("writing")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")


class ImportJob(models.Model):
    """One import of one file. Its progress is committed with each batch it writes, so a worker that
    dies mid-way is resumed from `cursor_line` without duplicates or gaps."""

    ACTIVE = (ImportStatus.QUEUED, ImportStatus.VALIDATING, ImportStatus.WRITING)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    mapping = models.ForeignKey(ImportMapping, verbose_name=_("mapping"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="jobs")
    # The mapping as it was when the job started: editing a saved mapping does not change a running job.
    source_system = models.CharField(_("source system"), max_length=40)
    steps = models.JSONField(_("steps"), default=list)
    entity = models.CharField(_("entity"), max_length=40, help_text=_("The first step's entity, for lists."))
    file_name = models.CharField(_("file"), max_length=200)
    file_path = models.CharField(max_length=300, editable=False)
    file_size = models.BigIntegerField(_("size (bytes)"), default=0)
    file_format = models.CharField(_("format"), max_length=10)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False,
                                  help_text=_("Check every row and report, but write nothing."))
    status = models.CharField(_("status"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    validated = models.BooleanField(default=False, editable=False, help_text="The validation pass has finished.")
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    bad_rows = models.PositiveIntegerField(_("rejected rows"), default=0)
    # Write phase: the step being written and the last file line whose batch is committed.
    step_index = models.PositiveSmallIntegerField(default=0)
    cursor_line = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    # {"<step>": {"created": n, "updated": n, "unchanged": n, "repeated": n}}
    counts = models.JSONField(_("counts"), default=dict)
    # References to rows later in the file, set once those rows exist: [[step, record id, field, key], ...]
    deferred = models.JSONField(default=list, editable=False)
    error_message = models.TextField(_("error"), blank=True)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        indexes = [
            models.Index(fields=["created_by", "-id"], name="importjob_user_id"),
            models.Index(fields=["status", "-id"], name="importjob_status_id"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id} {self.file_name}"

    @property
    def job_id(self) -> str:
        """The id the audit log carries for every change this import makes."""
        return f"import-{self.pk}"

    @property
    def good_rows(self) -> int:
        return max(0, self.total_rows - self.bad_rows)

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def progress_percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        steps = max(1, len(self.steps or []))
        if self.status != ImportStatus.WRITING or not self.good_rows:
            return 0
        return min(99, int(100 * self.rows_done / (self.good_rows * steps)))


class ImportErrorKind(models.TextChoices):
    FILE = "file", _("file")
    MISSING = "missing", _("missing value")
    TYPE = "type", _("wrong type or format")
    REFERENCE = "reference", _("unknown reference")
    DUPLICATE_FILE = "duplicate_file", _("duplicate inside the file")
    DUPLICATE_EXISTING = "duplicate_existing", _("duplicate of an existing record")
    PERMISSION = "permission", _("not permitted")
    INVALID = "invalid", _("invalid")


class ImportRowError(models.Model):
    """One reason a row was rejected: its line as a spreadsheet shows it (the header is line 1)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    step = models.PositiveSmallIntegerField(default=0)
    line = models.PositiveIntegerField(_("line"))
    column = models.CharField(_("column"), max_length=200, blank=True)
    value = models.CharField(_("value"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=ImportErrorKind.choices)
    message = models.TextField(_("reason"))

    class Meta:
        ordering = ["line", "id"]
        verbose_name = _("import error")
        verbose_name_plural = _("import errors")
        indexes = [models.Index(fields=["job", "line", "id"], name="importerror_job_line")]

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.message}"
