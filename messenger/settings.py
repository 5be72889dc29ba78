"""Settings for the messenger project.

Everything comes from environment variables (12-factor), optionally read from a `.env` file in
the project root. With nothing set, the project runs on embedded defaults: the embedded PostgreSQL
of scripts/serve and scripts/test, the in-memory channel layer and local file storage. See
`.env.example` for every variable.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from messenger.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")

# --- Environment -------------------------------------------------------------------------------
# "development" (default) or "production". Production refuses insecure settings at start-up.
ENVIRONMENT = env_str("DJANGO_ENV", "development")
IS_PRODUCTION = ENVIRONMENT == "production"

_DEFAULT_SECRET_KEY = "insecure-development-key-change-me"  # noqa: S105 - refused in production
SECRET_KEY = env_str("DJANGO_SECRET_KEY", _DEFAULT_SECRET_KEY)
DEBUG = env_bool("DJANGO_DEBUG", not IS_PRODUCTION)

if IS_PRODUCTION:
    if SECRET_KEY == _DEFAULT_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a random string of 50+ characters in production.")
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_DEBUG must be off in production.")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
# Origins allowed to call the REST API from a browser (CORS) and to open the WebSocket.
ALLOWED_ORIGINS = env_list("DJANGO_ALLOWED_ORIGINS", ["http://127.0.0.1:8000", "http://localhost:8000"])
# Outside production a WebSocket handshake from the server's own origin (the page's scheme, host
# and port equal to the handshake's Host, which must be in ALLOWED_HOSTS) is accepted too, so the
# web client works on any HOST/PORT without configuration. Production accepts only the list.
# Same-origin REST calls need no CORS, and Django's CSRF check accepts the request's own origin.
ALLOW_OWN_ORIGIN = not IS_PRODUCTION
CSRF_TRUSTED_ORIGINS = ALLOWED_ORIGINS
CORS_ALLOWED_ORIGINS = ALLOWED_ORIGINS
CORS_URLS_REGEX = r"^/api/.*$"

# --- Applications ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "accounts",
    "chats",
    "calls",
    "media",
]

MIDDLEWARE = [
    "messenger.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "messenger.middleware.RequestHygieneMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "messenger.middleware.ApiJsonErrorMiddleware",
]

ROOT_URLCONF = "messenger.urls"
ASGI_APPLICATION = "messenger.asgi.application"
WSGI_APPLICATION = None

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

# --- Data stores -------------------------------------------------------------------------------
# PostgreSQL is the only database. Without DATABASE_URL, the embedded PostgreSQL that
# scripts/serve and scripts/test start (scripts/embedded.py) is used while it runs.
_EMBEDDED_DATABASE_URL_FILE = BASE_DIR / "var" / "embedded" / "postgres.url"
DATABASE_URL = env_str("DATABASE_URL", "")
if not DATABASE_URL:
    if not _EMBEDDED_DATABASE_URL_FILE.exists():
        raise ImproperlyConfigured(
            "DATABASE_URL is not set and no embedded PostgreSQL has been started: run scripts/serve or "
            "scripts/test (they start one under var/embedded), or point DATABASE_URL at a PostgreSQL server."
        )
    DATABASE_URL = _EMBEDDED_DATABASE_URL_FILE.read_text().strip()
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
# Under ASGI every request runs on a thread of its own, so Django's per-thread persistent
# connections would mean a new connection (or a leaked one) per request. Django's psycopg
# pool hands each request a connection and takes it back at the end; with health checks on
# it makes sure a pooled connection still works (after a database restart) before handing it out.
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
    "min_size": env_int("DB_POOL_MIN_SIZE", 2),
    "max_size": env_int("DB_POOL_MAX_SIZE", 16),
    "timeout": 10,
}
# Behind PgBouncer in transaction-pooling mode server-side cursors must be off.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One URL, or several separated by commas to shard the channel layer across Redis hosts
# (channels-redis hashes channels and groups over them); the cache uses the first.
REDIS_URLS = env_list("REDIS_URL", [])
REDIS_URL = REDIS_URLS[0] if REDIS_URLS else ""
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # channels-redis waits on Redis with 5-second blocking pops; the client's read
                # timeout must be longer or every idle receive fails (redis-py 8 defaults to 5 s).
                "hosts": [{"address": url, "socket_timeout": 30, "socket_connect_timeout": 5} for url in REDIS_URLS],
                "capacity": env_int("CHANNEL_LAYER_CAPACITY", 1000),
                "expiry": 30,
                "prefix": env_str("CHANNEL_LAYER_PREFIX", "messenger"),
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "messenger"),
        }
    }
else:
    # One channel per server process receives every typing and presence event for its sockets.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Files -------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media-files/"
MEDIA_ROOT = BASE_DIR / env_str("MEDIA_ROOT", "var/media")

# Uploads (media app; see docs/media.md). Per-kind size limits in bytes, enforced while the body
# streams in; the kind comes from the file's magic bytes, never from its name.
MEDIA_MAX_UPLOAD_BYTES = {
    "image": env_int("MEDIA_MAX_IMAGE_BYTES", 20 * 1024**2),
    "audio": env_int("MEDIA_MAX_AUDIO_BYTES", 50 * 1024**2),
    "video": env_int("MEDIA_MAX_VIDEO_BYTES", 512 * 1024**2),
    "file": env_int("MEDIA_MAX_FILE_BYTES", 100 * 1024**2),
}
# Total stored bytes per user, over all their uploads.
MEDIA_USER_QUOTA_BYTES = env_int("MEDIA_USER_QUOTA_BYTES", 1024**3)
# Images above this many pixels (summed over frames for animations) are refused: a small file can
# decode to gigabytes (decompression bomb). Also applied to Pillow's own limit at start-up.
MEDIA_MAX_IMAGE_PIXELS = env_int("MEDIA_MAX_IMAGE_PIXELS", 40_000_000)
MEDIA_THUMBNAIL_MAX_SIDE = 320
MEDIA_MAX_ATTACHMENTS_PER_MESSAGE = 10
# Uploads per user (DRF throttle rate); each image upload costs a decode and an encode.
MEDIA_UPLOAD_RATE = env_str("MEDIA_UPLOAD_RATE", "120/min")
# `manage.py media_cleanup` deletes uploads older than this that no message or avatar uses.
MEDIA_UNATTACHED_TTL_HOURS = env_int("MEDIA_UNATTACHED_TTL_HOURS", 24)

S3_BUCKET = env_str("S3_BUCKET", "")
# Lifetime of the presigned URLs that /download redirects to.
S3_URL_EXPIRE_SECONDS = env_int("S3_URL_EXPIRE_SECONDS", 300)
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env_str("S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("S3_REGION", "us-east-1"),
            "access_key": env_str("S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("S3_SECRET_ACCESS_KEY", "") or None,
            # The bucket is never public: every download is a short-lived presigned URL.
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": S3_URL_EXPIRE_SECONDS,
            "file_overwrite": False,
            "addressing_style": env_str("S3_ADDRESSING_STYLE", "path"),
        },
    }
    # Presigned URLs are for clients, so they are signed for the endpoint clients reach
    # (S3_PUBLIC_ENDPOINT_URL, e.g. the bucket served through the app's own host), while the app
    # itself stores and deletes objects over S3_ENDPOINT_URL (e.g. http://minio:9000 inside a
    # private network). A signature covers the host, so the URL cannot be rewritten afterwards.
    # This storage only signs URLs (media/storage.py); it never reads or writes an object.
    _signed_urls_storage = {
        **_default_storage,
        "OPTIONS": {
            **_default_storage["OPTIONS"],
            "endpoint_url": env_str("S3_PUBLIC_ENDPOINT_URL", "") or _default_storage["OPTIONS"]["endpoint_url"],
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    _signed_urls_storage = None
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if _signed_urls_storage:
    STORAGES["signed_urls"] = _signed_urls_storage

# --- Accounts and authentication ---------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

ACCESS_TOKEN_LIFETIME = timedelta(seconds=env_int("ACCESS_TOKEN_LIFETIME_SECONDS", 300))
REFRESH_TOKEN_LIFETIME = timedelta(seconds=env_int("REFRESH_TOKEN_LIFETIME_SECONDS", 30 * 24 * 3600))
# A refresh token presented again within this many seconds of its rotation is treated as a
# concurrent retry (answered 401 refresh_token_superseded, session kept); later it is reuse and
# revokes the session. Keep it short: a thief inside the window gets nothing either way.
REFRESH_REUSE_GRACE_SECONDS = env_int("REFRESH_REUSE_GRACE_SECONDS", 5)
WS_TICKET_TTL_SECONDS = 30

# JWT signing (accounts/jwt_keys.py reads and checks these at start-up; README "Authentication").
# HS256 (default): JWT_SIGNING_KEY is a secret of 32+ bytes, DJANGO_SECRET_KEY when unset.
# RS256 / EdDSA: JWT_SIGNING_KEY is the PEM private key (or JWT_SIGNING_KEY_FILE its path), and
# its public key is published at /.well-known/jwks.json.
JWT_ALGORITHM = env_str("JWT_ALGORITHM", "HS256")
JWT_SIGNING_KEY = env_str("JWT_SIGNING_KEY", "")
JWT_SIGNING_KEY_FILE = env_str("JWT_SIGNING_KEY_FILE", "")
# Keys that verify but do not sign (rotation): PEM keys (public or private; any of the three
# algorithms, by key type) and comma-separated HS256 secrets; or files of them.
JWT_VERIFYING_KEYS = env_str("JWT_VERIFYING_KEYS", "")
JWT_VERIFYING_KEY_FILES = env_list("JWT_VERIFYING_KEY_FILES", [])
# Clock skew allowed on exp, nbf and iat between the processes that mint and check tokens.
JWT_LEEWAY_SECONDS = env_int("JWT_LEEWAY_SECONDS", 5)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": ACCESS_TOKEN_LIFETIME,
    "REFRESH_TOKEN_LIFETIME": REFRESH_TOKEN_LIFETIME,
    # The algorithm and keys are the key ring's (accounts.tokens.KeyRingTokenBackend), not
    # simplejwt's ALGORITHM / SIGNING_KEY / VERIFYING_KEY, which nothing here reads.
    "AUTH_TOKEN_CLASSES": ("accounts.tokens.AccessToken",),
    "LEEWAY": JWT_LEEWAY_SECONDS,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

OTP_TTL_SECONDS = env_int("OTP_TTL_SECONDS", 300)
OTP_MAX_ATTEMPTS = 3
OTP_RESEND_COOLDOWN_SECONDS = env_int("OTP_RESEND_COOLDOWN_SECONDS", 60)
# Dotted path of the class that delivers OTP codes by SMS (see accounts/sms.py).
SMS_BACKEND = env_str("SMS_BACKEND", "accounts.sms.ConsoleSMSBackend")

CONTACT_SYNC_MAX_PHONES = 1000

# --- REST API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.SessionJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "messenger.api.parsers.JSONParser",
        "messenger.api.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "messenger.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "messenger.api.DefaultCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_RATES": {
        "auth_login": env_str("THROTTLE_LOGIN", "10/min"),
        "auth_register": env_str("THROTTLE_REGISTER", "5/min"),
        "auth_refresh": env_str("THROTTLE_REFRESH", "30/min"),
        "otp_request_ip": env_str("THROTTLE_OTP_IP", "10/hour"),
        "otp_request_phone": env_str("THROTTLE_OTP_PHONE", "5/hour"),
        "otp_verify": env_str("THROTTLE_OTP_VERIFY", "20/hour"),
        # Per signed-in user: invite codes are unguessable, and these keep anyone from trying.
        "invite_preview": env_str("THROTTLE_INVITE_PREVIEW", "30/min"),
        "invite_join": env_str("THROTTLE_INVITE_JOIN", "10/min"),
    },
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Messenger API",
    "DESCRIPTION": (
        "REST API of the messenger backend. Real-time events travel over one WebSocket per device at "
        "`/ws/`; that protocol is described in `docs/asyncapi.yaml`. Every error body is "
        '`{"code", "message", "details"}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    # No validator badge: Swagger UI would send the schema to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # ReDoc's bundle without its third-party logo, served by messenger.api.docs.redoc_bundle_view.
    "REDOC_DIST": "/api/redoc",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Stable component names: a second "kind" enum must not rename the first.
    "ENUM_NAME_OVERRIDES": {
        "KindEnum": "media.models.Attachment.Kind",
        "MessageKindEnum": "chats.models.Message.Kind",
        "CallKindEnum": "calls.models.Call.Kind",
        "CallChatTypeEnum": ["direct", "group"],
        "ChatTypeEnum": "chats.models.Chat.Type",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "messenger.api.schema.document_request_errors",
    ],
}

# --- Security headers --------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy of every response (messenger.middleware.ContentSecurityPolicyMiddleware):
# everything from this origin only (the WebSocket included: 'self' covers ws/wss), no inline
# scripts or styles, no plugins, never framed.
_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "worker-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
CONTENT_SECURITY_POLICY = "; ".join(f"{name} {value}" for name, value in _CSP.items())
# The API explorers (Swagger UI, ReDoc) style themselves with inline <style> elements and ReDoc
# searches in a worker made from a blob: URL; their scripts are still this origin's files only.
_CSP_API_DOCS = {
    **_CSP,
    "style-src": "'self' 'unsafe-inline'",
    "font-src": "'self' data:",
    "worker-src": "'self' blob:",
}
CONTENT_SECURITY_POLICY_API_DOCS = "; ".join(f"{name} {value}" for name, value in _CSP_API_DOCS.items())
if IS_PRODUCTION:
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Real-time ---------------------------------------------------------------------------------
WS_MAX_FRAME_BYTES = 64 * 1024
WS_RATE_LIMIT_PER_SECOND = env_int("WS_RATE_LIMIT_PER_SECOND", 30)
WS_RATE_LIMIT_BURST = env_int("WS_RATE_LIMIT_BURST", 60)
TYPING_TIMEOUT_SECONDS = 6
SYNC_MAX_EVENTS = 1000
EVENT_RETENTION_DAYS = env_int("EVENT_RETENTION_DAYS", 30)
# Characters of a message's text (more: text_too_long).
MESSAGE_MAX_LENGTH = env_int("MESSAGE_MAX_LENGTH", 4096)
# The sender may edit a message this long after sending it (then: edit_window_expired).
MESSAGE_EDIT_WINDOW_SECONDS = env_int("MESSAGE_EDIT_WINDOW_SECONDS", 48 * 3600)
# Different emoji on one message at most (then: too_many_reactions).
MESSAGE_MAX_REACTIONS = env_int("MESSAGE_MAX_REACTIONS", 20)
CHAT_MAX_MEMBERS_PER_REQUEST = 1000
# Per user: pinned chats, chat folders, and chats in one folder.
CHAT_MAX_PINNED = 5
CHAT_MAX_FOLDERS = 20
CHAT_FOLDER_MAX_CHATS = 200
# Per server process: the psycopg pool for the WebSocket hot path (see messenger/db.py).
DB_ASYNC_POOL_SIZE = env_int("DB_ASYNC_POOL_SIZE", 8)
# That pool prepares a statement once it has run this many times on a connection ("none": never,
# for PgBouncer in transaction mode before 1.21).
_prepare_threshold = env_str("DB_PREPARE_THRESHOLD", "5")
DB_PREPARE_THRESHOLD = None if _prepare_threshold.lower() == "none" else int(_prepare_threshold)
# WebSocket sends are stored in batches (chats/send_batch.py): at most this many batches of each
# process at once (each holds one of the pool's connections), of at most this many messages.
# One batch in flight per process is the default: concurrent batches of one process only compete
# for the stream-order lock (bench/RESULTS.md).
SEND_BATCH_CONCURRENCY = env_int("SEND_BATCH_CONCURRENCY", 1)
SEND_BATCH_MAX_SIZE = env_int("SEND_BATCH_MAX_SIZE", 64)
# On PostgreSQL, message history pages are served in one statement outside Django's request
# cycle (chats/history_fast.py); false sends them through the DRF view like everything else.
REST_HISTORY_FAST_PATH = env_bool("REST_HISTORY_FAST_PATH", True)
STREAM_POLL_INTERVAL_SECONDS = float(env_str("STREAM_POLL_INTERVAL_SECONDS", "1.0"))
PRESENCE_HEARTBEAT_SECONDS = env_int("PRESENCE_HEARTBEAT_SECONDS", 15)
# A process silent this long is presumed dead and its users are taken offline.
PRESENCE_STALE_AFTER_SECONDS = env_int("PRESENCE_STALE_AFTER_SECONDS", 60)

# --- Calls (calls/) ------------------------------------------------------------------------------
# An unanswered call stops ringing this long after it started (a 1:1 call then ends `missed`).
CALL_RING_TIMEOUT_SECONDS = env_int("CALL_RING_TIMEOUT_SECONDS", 45)
# A participant's device without a live socket this long leaves the call (a 1:1 call ends `disconnected`).
CALL_RECONNECT_GRACE_SECONDS = env_int("CALL_RECONNECT_GRACE_SECONDS", 20)
# Devices in one group call (a mesh: each pair of them signals and streams directly).
CALL_MAX_PARTICIPANTS = env_int("CALL_MAX_PARTICIPANTS", 8)
# How often each process with sockets looks for ring deadlines and reconnect grace periods that
# have passed (calls.services.deadlines; each fires once, whichever process finds it first).
CALL_DEADLINE_INTERVAL_SECONDS = float(env_str("CALL_DEADLINE_INTERVAL_SECONDS", "1.0"))
# Signaling frames are relayed, never stored; these bound what one may carry.
CALL_SDP_MAX_BYTES = 16 * 1024
CALL_CANDIDATE_MAX_BYTES = 1024
# ICE servers handed to clients (GET /api/v1/calls/ice-servers), comma-separated URLs such as
# stun:turn.example.com:3478 and turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349.
STUN_URLS = env_list("STUN_URLS", [])
TURN_URLS = env_list("TURN_URLS", [])
# coturn's `static-auth-secret` (use-auth-secret, the TURN REST scheme): credentials are minted
# per user from it and expire after TURN_CREDENTIAL_TTL_SECONDS. Unset: TURN_URLS are not offered.
TURN_SHARED_SECRET = env_str("TURN_SHARED_SECRET", "")
TURN_CREDENTIAL_TTL_SECONDS = env_int("TURN_CREDENTIAL_TTL_SECONDS", 86400)

# --- Misc --------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
