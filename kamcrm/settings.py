"""One settings file, read from the environment (see docs/architecture.md, "Settings").

Every value that differs between a laptop and production comes from an environment variable;
nothing else is split into dev/prod files.
"""
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent


def envbool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = envbool("KAMCRM_DEBUG", False)
DATA_DIR = Path(os.environ.get("KAMCRM_DATA_DIR", PROJECT_DIR / "data"))
DATA_DIR.mkdir(parents=True, exist_ok=True)

_DEV_SECRET = "kamcrm-development-only-secret-key-do-not-use-in-production-0123456789"
SECRET_KEY = os.environ.get("KAMCRM_SECRET_KEY", _DEV_SECRET)
if not DEBUG and SECRET_KEY == _DEV_SECRET and envbool("KAMCRM_PRODUCTION", False):
    raise RuntimeError("KAMCRM_SECRET_KEY must be set in production")

ALLOWED_HOSTS = envlist("KAMCRM_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = envlist("KAMCRM_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "kamcrm.core",
    "kamcrm.org",
    "kamcrm.audit",
    "kamcrm.customers",
    "kamcrm.products",
    "kamcrm.sales",
    "kamcrm.activities",
    "kamcrm.agreements",
    "kamcrm.receivables",
    "kamcrm.analytics",
    "kamcrm.targets",
    "kamcrm.poa",
    "kamcrm.notifications",
    "kamcrm.exchange",
    "kamcrm.integrations",
    "kamcrm.webhooks",
    "kamcrm.attachments",
    "kamcrm.scale",
    "kamcrm.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kamcrm.core.middleware.ChangeContextMiddleware",
    "kamcrm.core.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "kamcrm.urls"
WSGI_APPLICATION = "kamcrm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    }
]

# Database: SQLite (WAL) under the data folder by default; PostgreSQL when DATABASE_URL says so.
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'kamcrm.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("KAMCRM_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers go on while one writer writes; IMMEDIATE avoids upgrade deadlocks.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("KAMCRM_SQLITE_TEST_NAME") or None}
else:
    DATABASES["default"].setdefault("TEST", {})
    if os.environ.get("KAMCRM_PG_TEST_NAME"):
        DATABASES["default"]["TEST"]["NAME"] = os.environ["KAMCRM_PG_TEST_NAME"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "org.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Locale: zh-Hans first, English complete.
LANGUAGE_CODE = os.environ.get("KAMCRM_LANGUAGE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("KAMCRM_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
CURRENCY = "CNY"
# Our own number formats: Django's zh_Hans has no thousands separator; amounts read better with one.
FORMAT_MODULE_PATH = ["kamcrm.formats"]

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("KAMCRM_STATIC_ROOT", PROJECT_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Security. Production is the default; `make run` and the tests switch DEBUG on explicitly.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag; kept default
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("KAMCRM_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = envbool("KAMCRM_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = envbool("KAMCRM_SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = envint("KAMCRM_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Login throttling: failed attempts per username and per client address in a window.
LOGIN_FAILURE_LIMIT = envint("KAMCRM_LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = envint("KAMCRM_LOGIN_FAILURE_WINDOW", 900)

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if not os.environ.get("KAMCRM_REDIS_URL")
    else {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["KAMCRM_REDIS_URL"]}
}

# API v1 (kamcrm/api). JSON only: the browsable renderer would draw unbounded pickers (every
# account in a <select>) and needs inline scripts the CSP forbids; /api/v1/docs/ is the
# interactive page. Lists sort with `?sort=` over keyset pages, so there is no OrderingFilter.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that an anonymous request gets 401 with `WWW-Authenticate: Token`.
        "kamcrm.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "kamcrm.api.pagination.KeysetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "kamcrm.api.errors.exception_handler",
    "NON_FIELD_ERRORS_KEY": "__all__",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_RATES": {"auth_token": os.environ.get("KAMCRM_API_TOKEN_RATE", "10/minute")},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "kamcrm API",
    "DESCRIPTION": (
        "Key-account CRM REST API, version 1. Authenticate with a session (and CSRF token) or with "
        "`Authorization: Token <key>` from `POST /api/v1/auth/token/`. Lists are keyset pages "
        "(`next`/`previous` links, `?page_size=`, `?sort=`); errors are "
        "`{\"detail\": ..., \"errors\": {field: [messages]}}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No call to swagger.io's online validator: the doc page works offline.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None, "persistAuthorization": True},
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Integration tokens (kamcrm/integrations; docs/decisions/0004-integration-tokens.md) -----------
# `Authorization: Bearer <token>` of an integration, after the personal `Token` scheme (which stays
# first so that an anonymous request still gets `WWW-Authenticate: Token`). `HasScope` enforces a
# bearer token's scopes and lets sessions and personal tokens through unchanged; the per-token rate
# limit (429 + Retry-After) is checked while authenticating, in the Django cache.
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"].insert(1, "kamcrm.integrations.auth.IntegrationTokenAuthentication")
REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"].append("kamcrm.integrations.auth.HasScope")
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})["InboundEventTypeEnum"] = (
    "kamcrm.integrations.models.EventType")
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update({
    "ImportErrorKindEnum": "kamcrm.exchange.models.ImportErrorKind", "UnitKindEnum": "kamcrm.org.choices.UnitKind",
    "StageKindEnum": "kamcrm.sales.choices.StageKind",
    "TargetPlanStatusEnum": "kamcrm.targets.choices.PlanStatus", "TargetPeriodEnum": "kamcrm.targets.choices.Period"})

# --- Exports (kamcrm/exchange/export.py) ----------------------------------------------------------
# An export streams at constant memory, but one that would hold more rows than this is refused
# (400, with a message asking for narrower filters) before anything is sent.
KAMCRM_EXPORT_MAX_ROWS = envint("KAMCRM_EXPORT_MAX_ROWS", 1_000_000)
# Largest file an attachment may be (bytes). Django reads the whole upload first: put the same limit on the
# reverse proxy (client_max_body_size) so that larger bodies are refused before they arrive.
KAMCRM_ATTACHMENT_MAX_BYTES = envint("KAMCRM_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)

# --- Background work (docs/decisions/0006-imports-and-tasks.md) ------------------------------------
# Django's Tasks API (the django-tasks backport). The database backend needs no extra service; its
# worker is `kamcrm db_worker` (`make run` starts one). KAMCRM_TASKS_BACKEND swaps in another backend
# (e.g. "django_tasks.backends.immediate.ImmediateBackend", which runs a task at once in the caller).
TASKS = {"default": {"BACKEND": os.environ.get("KAMCRM_TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}

# --- Notifications (kamcrm/notifications) ----------------------------------------------------------
# From the 15th of a month, `kamcrm notify_scan` tells a person (and their manager) whose month-to-date
# actual of a metric is below this percentage of the month's target; once per person, metric and month.
KAMCRM_COMPLETION_ALERT_PERCENT = envint("KAMCRM_COMPLETION_ALERT_PERCENT", 40)

# --- Imports (kamcrm/exchange/importing.py) -------------------------------------------------------
# Uploaded files are kept under the data directory until their job is purged. Each batch of rows is
# written and committed with the job's progress, all or nothing.
KAMCRM_IMPORT_DIR = DATA_DIR / "imports"
KAMCRM_IMPORT_BATCH_SIZE = envint("KAMCRM_IMPORT_BATCH_SIZE", 1000)
KAMCRM_IMPORT_MAX_BYTES = envint("KAMCRM_IMPORT_MAX_BYTES", 200 * 1024 * 1024)
# A running job whose worker has not reported for this long is taken to be dead and may be resumed.
KAMCRM_IMPORT_LEASE_SECONDS = envint("KAMCRM_IMPORT_LEASE_SECONDS", 120)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KAMCRM_LOG_LEVEL", "WARNING")},
}

SILENCED_SYSTEM_CHECKS: list[str] = []
