"""Settings for VAS Snapshots, read from environment variables.

Development defaults work with nothing set (SQLite, DEBUG on). With DEBUG off
the process refuses to start without a secret key and an encryption key.
"""

import base64
import hashlib
import ipaddress
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: str) -> int:
    value = os.getenv(name, default)
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def envfloat(name: str, default: str) -> float:
    value = os.getenv(name, default)
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


DEBUG = envbool("DJANGO_DEBUG", "true")

DEV_SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production-7c1f"  # noqa: S105 - dev only
SECRET_KEY = os.getenv("DJANGO_SECRET_KEY", "")
# Comma-separated Fernet keys, newest first: the first encrypts, all decrypt.
ENCRYPTION_KEYS = envlist("VAS_ENCRYPTION_KEYS", "")

if not DEBUG and not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
if not DEBUG and not ENCRYPTION_KEYS:
    raise ImproperlyConfigured("VAS_ENCRYPTION_KEYS must be set when DJANGO_DEBUG is off")
SECRET_KEY = SECRET_KEY or DEV_SECRET_KEY
# Former secret keys, newest first: sessions, signed links and list cursors made under them
# stay valid while they are listed here (rotate: move the old key here, set a new one).
SECRET_KEY_FALLBACKS = envlist("DJANGO_SECRET_KEY_FALLBACKS", "")
if not ENCRYPTION_KEYS:
    # Development only: a key derived from the development secret key.
    ENCRYPTION_KEYS = [base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()]
for _position, _key in enumerate(ENCRYPTION_KEYS, start=1):
    try:
        Fernet(_key)
    except (ValueError, TypeError):
        # Which key, never the key itself.
        raise ImproperlyConfigured(
            f"VAS_ENCRYPTION_KEYS: key {_position} is not a Fernet key (32 url-safe base64-encoded bytes; "
            "make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        ) from None

# On: every user with the view permissions sees every camera (one site, the demo). Off: a user
# sees the cameras of their groups (Device.groups); superusers see all. Production: off.
CAMERAS_VISIBLE_TO_ALL = envbool("VAS_CAMERAS_VISIBLE_TO_ALL", "true" if DEBUG else "false")

ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    # Django's admin, on a site whose login is throttled (vas_project.admin.AdminSite).
    "vas_project.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # AbstractAPIKey's app: its own APIKey model is unused (apikeys.ApiKey is ours) and unregistered from the admin.
    "rest_framework_api_key",
    "devices",
    "apikeys",
    "snapshots",
    "jobs",
    "exports",
    "webhooks",
    "monitoring",
    "wall",
]

MIDDLEWARE = [
    # First: every answer, a redirect or an error of the middleware below too, carries X-Request-ID.
    "vas_project.middleware.RequestIdMiddleware",
    # Every error answer under /api/ in the API's JSON body, whichever part of Django made it.
    "vas_project.middleware.ApiAnswersJsonMiddleware",
    # Then the request's duration in vas_http_request_duration_seconds (off with VAS_METRICS=false).
    "monitoring.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "vas_project.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "vas_project.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "vas_project.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", "60"),
        conn_health_checks=True,
    )
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not SQLite's shared in-memory database, so that tests of parallel
    # captures (one connection per thread) wait for each other's writes instead
    # of failing with "table is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".cache" / "test-db.sqlite3")}
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # A transaction takes the write lock when it begins, so one that reads and then writes (a
    # delete and its storage totals, a recount) waits its turn instead of failing with "database
    # is locked" when another process or thread wrote meanwhile (make demo runs three).
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.getenv("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The pages for people (the camera wall) have their own login page: the admin's takes staff only.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "wall"
LOGOUT_REDIRECT_URL = "login"
# Seconds between the camera wall's refresh rounds (the page has a control to change it).
WALL_REFRESH_S = envint("VAS_WALL_REFRESH_S", "5")
STATIC_ROOT = Path(os.getenv("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))

# Request bodies are small JSON documents; images never travel inwards.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("VAS_MAX_REQUEST_BYTES", str(1024 * 1024))

PAGE_SIZE = envint("VAS_PAGE_SIZE", "10")
# Lists count their rows exactly below this many (as PostgreSQL estimates them), else answer
# the planner's estimate with count_is_estimate: counting millions of rows takes longer than the page.
COUNT_EXACT_BELOW = envint("VAS_COUNT_EXACT_BELOW", "100000")
if not 1 <= PAGE_SIZE <= 100:
    raise ImproperlyConfigured(f"VAS_PAGE_SIZE must be from 1 to 100, not {PAGE_SIZE}")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # JWT first: its WWW-Authenticate header makes unauthenticated answers 401.
        "vas_project.authentication.JWTAuthentication",
        # Long-lived keys for integrations (apikeys/): Api-Key or X-Api-Key headers.
        "apikeys.authentication.ApiKeyAuthentication",
        "vas_project.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["vas_project.permissions.ModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "vas_project.pagination.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["vas_project.parsers.JSONParser"],
    # How many proxies in front of the server append to X-Forwarded-For. 0 (the default): the
    # header is ignored and the client is the connection's address, so a forged header cannot
    # dodge the login throttle.
    "NUM_PROXIES": envint("VAS_TRUSTED_PROXIES", "0"),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "vas_project.exceptions.exception_handler",
    # Rows per page when a list request names no per_page (at most 100).
    "PAGE_SIZE": PAGE_SIZE,
    "DEFAULT_THROTTLE_RATES": {
        "login": os.getenv("VAS_LOGIN_RATE", "20/min"),
        "login_username": os.getenv("VAS_LOGIN_USERNAME_RATE", "10/min"),
        "capture": os.getenv("VAS_CAPTURE_RATE", "120/min"),
        "discover": os.getenv("VAS_DISCOVER_RATE", "10/min"),
    },
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=envint("VAS_JWT_ACCESS_MINUTES", "15")),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=envint("VAS_JWT_REFRESH_DAYS", "7")),
    # A refresh token works once: refreshing returns a new one and blacklists the old.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Tokens carry a hash of the user's password: a password change revokes them all, and a
    # deactivated user's tokens stop working at once (CHECK_USER_IS_ACTIVE, the default).
    "CHECK_REVOKE_TOKEN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "VAS Snapshots API",
    "DESCRIPTION": "Register IP cameras and grab, store and serve still images from their RTSP streams.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["vas_project.permissions.HasApiPermissions"],
    # Swagger UI's files come from this server, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # The webhook events appear on webhooks and on their deliveries: one enum in the schema.
    "ENUM_NAME_OVERRIDES": {"WebhookEventEnum": "webhooks.models.Event"},
}

# Capture: cameras are read in-process with PyAV (FFmpeg's libraries, in its wheel; capture.rtsp).
CAPTURE_TIMEOUT_S = envfloat("VAS_CAPTURE_TIMEOUT_S", "10")
CAPTURE_MAX_IMAGE_BYTES = envint("VAS_CAPTURE_MAX_IMAGE_BYTES", str(20 * 1024 * 1024))
CAPTURE_CONCURRENCY = envint("VAS_CAPTURE_CONCURRENCY", "8")
# rtsps:// cameras' certificates are checked against the system's CAs, or this PEM bundle.
RTSPS_CA_FILE = os.getenv("VAS_RTSPS_CA_FILE", "")
# A synchronous batch (POST /api/snapshots/capture/) answers within this many seconds, below the
# web server's worker timeout (60 s in the Dockerfile's gunicorn): a camera whose turn would
# come too late for its capture to finish in time is answered "batch_deadline", not captured.
BATCH_DEADLINE_S = envfloat("VAS_BATCH_DEADLINE_S", "45")
# The most cameras one synchronous batch may name, or "all" may select.
BATCH_MAX_DEVICES = envint("VAS_BATCH_MAX_DEVICES", "200")
# Defaults for devices that set none: scheduled capture interval (0: off) and retention
# (days to keep, most snapshots to keep; 0: no limit).
CAPTURE_INTERVAL_S = envint("VAS_CAPTURE_INTERVAL_S", "0")
RETENTION_DAYS = envint("VAS_RETENTION_DAYS", "0")
RETENTION_MAX_SNAPSHOTS = envint("VAS_RETENTION_MAX_SNAPSHOTS", "0")
# Most bytes of images kept per camera (0: no limit); the oldest go first.
RETENTION_MAX_BYTES = envint("VAS_RETENTION_MAX_BYTES", "0")

# Live mode: the stream keeper (manage.py run_stream_keeper) holds one RTSP session to every
# enabled camera whose `live` flag is on, and captures answer from its newest keyframe.
LIVE_DEFAULT = envbool("VAS_LIVE_DEFAULT", "true")
# Where the keeper publishes frames for every process: Redis at this URL (VAS_CACHE_URL when
# unset), or else files under VAS_LIVE_DIR, which every process on this machine reads.
LIVE_URL = os.getenv("VAS_LIVE_URL", "") or os.getenv("VAS_CACHE_URL", "")
LIVE_DIR = Path(os.getenv("VAS_LIVE_DIR", str(BASE_DIR / ".cache" / "live")))
# A keeper that stops refreshing its sessions (killed) is forgotten after this many seconds, and
# captures fall back to one-shot grabs; its cameras' leases pass to another keeper after
# VAS_LIVE_LEASE_S.
LIVE_SESSION_TTL_S = envint("VAS_LIVE_SESSION_TTL_S", "3")
LIVE_LEASE_S = envint("VAS_LIVE_LEASE_S", "3")
# The keeper refreshes both every second: anything shorter than 2 s would lapse between refreshes.
for _name, _value in (("VAS_LIVE_SESSION_TTL_S", LIVE_SESSION_TTL_S), ("VAS_LIVE_LEASE_S", LIVE_LEASE_S)):
    if not 2 <= _value <= 3600:
        raise ImproperlyConfigured(f"{_name} must be whole seconds from 2 to 3600, not {_value}")
# A live camera is marked offline after this many keyframe intervals without a keyframe.
LIVE_OFFLINE_AFTER_KEYFRAMES = envint("VAS_LIVE_OFFLINE_AFTER_KEYFRAMES", "3")
# ...but never sooner than this many seconds without a keyframe: a busy keeper (or a camera with
# a short keyframe interval) may see them come late while the stream goes on.
LIVE_SILENCE_MIN_S = envfloat("VAS_LIVE_SILENCE_MIN_S", "10")
LIVE_RECONNECT_MAX_S = envfloat("VAS_LIVE_RECONNECT_MAX_S", "30")

# Throttle counters live in the default cache; point several web processes at one Redis.
# Live frames live in the "live" one.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["VAS_CACHE_URL"],
            # A Redis that hangs must not hold a login: throttles fail open after this.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if os.getenv("VAS_CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    ),
    "live": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": LIVE_URL,
            # A Redis that hangs must not hold a capture: it falls back to a one-shot grab.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if LIVE_URL
        else {
            "BACKEND": "vas_project.caches.BoundedFileBasedCache",
            "LOCATION": str(LIVE_DIR),
        }
    ),
}

# Images and thumbnails encrypted at rest with AES-256-GCM under keys derived from
# VAS_ENCRYPTION_KEYS (vas_project.crypto); rows stored either way stay readable.
IMAGE_ENCRYPTION = envbool("VAS_IMAGE_ENCRYPTION", "false")

THUMBNAIL_WIDTH_PX = envint("VAS_THUMBNAIL_WIDTH_PX", "320")
# Snapshots never change, so browsers may keep an image this long.
IMAGE_CACHE_MAX_AGE_S = envint("VAS_IMAGE_CACHE_MAX_AGE_S", "3600")
# Lifetime of the signed image links in API answers, and the longest a shared link may live.
SIGNED_LINK_TTL_S = envint("VAS_SIGNED_LINK_TTL_S", "3600")
SHARE_MAX_TTL_S = envint("VAS_SHARE_MAX_TTL_S", str(7 * 24 * 3600))

# Jobs (batch captures that outlive a request): run on Celery with a broker, else in a thread
# of the web process. Each kind's handler; a running job writes a heartbeat every
# VAS_JOB_HEARTBEAT_S and is failed when none came for VAS_JOB_STALE_S (its worker died).
JOB_HANDLERS = {"capture_batch": "snapshots.jobs.capture_batch", "export": "exports.services.export_build"}
# What cleans up after a job of a kind failed because its worker died (called with its job_id).
JOB_CLEANUPS = {"export": "exports.services.export_worker_gone"}
JOB_HEARTBEAT_S = envfloat("VAS_JOB_HEARTBEAT_S", "5")
JOB_STALE_S = envfloat("VAS_JOB_STALE_S", "30")
# The most cameras one batch job may capture (a synchronous batch: VAS_BATCH_MAX_DEVICES).
JOB_MAX_DEVICES = envint("VAS_JOB_MAX_DEVICES", "10000")

# Exports (a zip of a time range's JPEGs, or an MP4 timelapse) are built as jobs into files under
# VAS_EXPORT_DIR (shared by the web and the workers when they run on several machines), bounded
# in frames and in source bytes, downloadable through a signed link for VAS_EXPORT_TTL_S, and
# removed after that by the prune.
EXPORT_DIR = Path(os.getenv("VAS_EXPORT_DIR", str(BASE_DIR / ".cache" / "exports")))
EXPORT_MAX_FRAMES = envint("VAS_EXPORT_MAX_FRAMES", "10000")
EXPORT_MAX_BYTES = envint("VAS_EXPORT_MAX_BYTES", str(2 * 1024**3))
EXPORT_TTL_S = envint("VAS_EXPORT_TTL_S", str(24 * 3600))
# Exports one user may have queued or running at once: each is a thread (or a worker slot) encoding.
EXPORT_MAX_UNFINISHED = envint("VAS_EXPORT_MAX_UNFINISHED", "2")
# The finished export files (and the bytes of those being written) kept on disk until they
# expire: one user's (beyond: 429) and everyone's (beyond: 507), in bytes and in files; 0: no limit.
EXPORT_USER_MAX_BYTES = envint("VAS_EXPORT_USER_MAX_BYTES", str(4 * 1024**3))
EXPORT_USER_MAX_FILES = envint("VAS_EXPORT_USER_MAX_FILES", "20")
EXPORT_TOTAL_MAX_BYTES = envint("VAS_EXPORT_TOTAL_MAX_BYTES", str(20 * 1024**3))
EXPORT_TOTAL_MAX_FILES = envint("VAS_EXPORT_TOTAL_MAX_FILES", "200")

# Webhooks: each attempt waits at most VAS_WEBHOOK_TIMEOUT_S for the receiver; a failed one is
# tried again after VAS_WEBHOOK_RETRY_BASE_S, doubling each time, VAS_WEBHOOK_MAX_ATTEMPTS in all.
# Without a broker, each process sends with VAS_WEBHOOK_CONCURRENCY threads.
WEBHOOK_TIMEOUT_S = envfloat("VAS_WEBHOOK_TIMEOUT_S", "5")
WEBHOOK_RETRY_BASE_S = envfloat("VAS_WEBHOOK_RETRY_BASE_S", "10")
WEBHOOK_MAX_ATTEMPTS = envint("VAS_WEBHOOK_MAX_ATTEMPTS", "8")
WEBHOOK_CONCURRENCY = envint("VAS_WEBHOOK_CONCURRENCY", "4")
# The only hosts webhooks may call (names or addresses, comma-separated); empty: any host.
WEBHOOK_ALLOWED_HOSTS = envlist("VAS_WEBHOOK_ALLOWED_HOSTS", "")

# MQTT (optional): VAS_MQTT_URL, e.g. mqtt://user:pass@127.0.0.1:1883/ (mqtts:// with TLS), turns
# it on (vas_project/mqtt.py); topics under VAS_MQTT_PREFIX; at most VAS_MQTT_QUEUE_MAX messages
# (VAS_MQTT_QUEUE_MAX_BYTES of payload) wait for a broker that is away, the others are dropped and
# counted. Images are published (retained) unless VAS_MQTT_IMAGES=false, at most
# VAS_MQTT_IMAGE_WIDTH_PX wide (0: as captured).
# Home Assistant discovery configs go under VAS_MQTT_DISCOVERY_PREFIX (empty: none).
MQTT_URL = os.getenv("VAS_MQTT_URL", "").strip()


def _broker_url_problem(url: str) -> str:
    """Why VAS_MQTT_URL cannot be used ("": it can), never quoting it: it holds the broker's password."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        return "VAS_MQTT_URL must start with mqtt:// or mqtts:// and name a host"
    try:
        return "" if parts.port is None or parts.port > 0 else "VAS_MQTT_URL has port 0"
    except ValueError:
        return "VAS_MQTT_URL has a port that is not a number from 1 to 65535"


if MQTT_URL and _broker_url_problem(MQTT_URL):
    raise ImproperlyConfigured(_broker_url_problem(MQTT_URL))
# An mqtts:// broker's certificate is checked against the system's CAs, or this PEM bundle.
MQTT_CA_FILE = os.getenv("VAS_MQTT_CA_FILE", "")
MQTT_PREFIX = os.getenv("VAS_MQTT_PREFIX", "vas").strip("/") or "vas"
MQTT_QUEUE_MAX = envint("VAS_MQTT_QUEUE_MAX", "1000")
MQTT_QUEUE_MAX_BYTES = envint("VAS_MQTT_QUEUE_MAX_BYTES", str(64 * 1024 * 1024))
MQTT_IMAGES = envbool("VAS_MQTT_IMAGES", "true")
MQTT_IMAGE_WIDTH_PX = envint("VAS_MQTT_IMAGE_WIDTH_PX", "0")
MQTT_DISCOVERY_PREFIX = os.getenv("VAS_MQTT_DISCOVERY_PREFIX", "homeassistant").strip("/")
# Captures commanded on <prefix>/<camera id>/capture (the stream keeper subscribes): whoever may
# publish on the broker may capture any camera, so they are off unless asked for.
MQTT_COMMANDS = envbool("VAS_MQTT_COMMANDS", "false")

# The address users reach the product at (e.g. https://vas.example.com): links in export results
# and webhook payloads start with it. Empty: those links are paths, relative to the product.
PUBLIC_URL = os.getenv("VAS_PUBLIC_URL", "").rstrip("/")

# Celery (optional): a broker such as redis://127.0.0.1:6379/0 enables worker and beat.
CELERY_BROKER_URL = os.getenv("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.getenv("CELERY_RESULT_BACKEND", "") or None
# Parallel captures per worker process pool.
CELERY_WORKER_CONCURRENCY = envint("VAS_WORKER_CONCURRENCY", str(CAPTURE_CONCURRENCY))
CELERY_TASK_ACKS_LATE = True
# A broker or result store that accepts connections and never answers must not hold the beat's
# enqueueing (or a request) forever: every wait on it is bounded, then it counts as down.
CELERY_BROKER_CONNECTION_TIMEOUT = 4
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": 5, "socket_connect_timeout": 4}
CELERY_REDIS_SOCKET_TIMEOUT = 5
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 4
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Every periodic chore, in one table, run by whichever scheduler runs (manage.py run_scheduler, or
# Celery beat): what it calls (by dotted path; no arguments, returns how much it did), every how
# many seconds, and the line the in-process scheduler prints when it did something.
CHORES = [
    {
        "name": "fail-stale-jobs",
        "every_s": 5.0,
        "call": "jobs.services.jobs_fail_stale",
        "says": "failed {} job(s) whose worker stopped",
    },
    {
        "name": "send-due-webhooks",
        "every_s": 5.0,
        "call": "webhooks.services.webhook_send_due",
        "says": "sending {} webhook delivery(ies) due again",
    },
    {
        "name": "prune-snapshots",
        "every_s": 24 * 3600.0,
        "call": "snapshots.retention.snapshots_prune_all",
        "says": "retention deleted {} snapshot(s)",
    },
    {
        "name": "prune-exports",
        "every_s": 24 * 3600.0,
        "call": "exports.services.exports_prune",
        "says": "removed {} expired export(s)",
    },
]
CELERY_IMPORTS = ("vas_project.chores",)
CELERY_BEAT_SCHEDULE = {
    # Beat queues one capture task per camera whose slot has come; run_scheduler captures them
    # itself, at every tick.
    "enqueue-due-captures": {"task": "snapshots.tasks.enqueue_due_captures", "schedule": 60.0},
    **{
        chore["name"]: {"task": "vas_project.chores.run_chore", "schedule": chore["every_s"], "args": (chore["name"],)}
        for chore in CHORES
    },
}

# /metrics (monitoring): answered to the addresses or networks of VAS_METRICS_ALLOWED_IPS, and to
# anyone sending "Authorization: Bearer <VAS_METRICS_TOKEN>" when that is set. VAS_METRICS=false
# turns the endpoint and the request timing off.
METRICS_ENABLED = envbool("VAS_METRICS", "true")
METRICS_TOKEN = os.getenv("VAS_METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = envlist("VAS_METRICS_ALLOWED_IPS", "127.0.0.1,::1")
for _network in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"VAS_METRICS_ALLOWED_IPS must list addresses or networks (10.0.0.0/8), not {_network!r}"
        ) from None
# prometheus_client's multiprocess mode (vas_project.metrics): every process of the product on one
# machine counts into one directory, PROMETHEUS_MULTIPROC_DIR, by default .cache/metrics (empty:
# each process its own counts). Put in the environment before any metric is defined, and so
# inherited by the processes this one starts; it must exist before the first count.
if METRICS_ENABLED:
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(BASE_DIR / ".cache" / "metrics"))
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
    from vas_project import metrics as _metrics

    # A web server's start forgets the counts of this machine's processes that ended before it.
    if (_server_started_at := _metrics.web_server_started_at()) is not None:
        _metrics.metrics_forget_ended_processes(Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]), before=_server_started_at)
if not METRICS_ENABLED:
    MIDDLEWARE.remove("monitoring.middleware.RequestMetricsMiddleware")

# Production hardening; every value can be relaxed through the environment.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("DJANGO_BEHIND_PROXY", "false") else None
SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", "false" if DEBUG else "true")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = envint("DJANGO_SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000")
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = envbool("DJANGO_SECURE_HSTS_PRELOAD", "false" if DEBUG else "true")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# plain: lines for people (" [request id]" at the end); json: one object per line for a log
# collector, with request_id, user_id, device_id, snapshot_id, job_id, code, duration_ms (vas_project.logs).
# Log lines go to standard error, or to the file VAS_LOG_FILE names (appended to).
LOG_FILE = os.getenv("VAS_LOG_FILE", "")
LOG_DESTINATION = (
    {"class": "logging.FileHandler", "filename": LOG_FILE} if LOG_FILE else {"class": "logging.StreamHandler"}
)
LOG_FORMAT = (os.getenv("VAS_LOG_FORMAT", "").strip() or "plain").lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"VAS_LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "log_context": {"()": "vas_project.logs.LogContextFilter"},
        "one_warning_line": {"()": "vas_project.logs.OneWarningLine"},
    },
    "formatters": {
        "plain": {
            "class": "vas_project.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"class": "vas_project.logs.JsonFormatter"},
    },
    "handlers": {"console": {**LOG_DESTINATION, "formatter": LOG_FORMAT, "filters": ["log_context"]}},
    "root": {"handlers": ["console"], "level": os.getenv("VAS_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own lines go through the console above only, not also through its development
        # handlers (bare messages; runserver's access lines), so that every line has one format.
        "django": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        # A request for another host name (a scanner, a misrouted proxy) is the client's mistake:
        # one line, not an ERROR with a traceback that hides real errors.
        "django.security.DisallowedHost": {"filters": ["one_warning_line"]},
    },
}
