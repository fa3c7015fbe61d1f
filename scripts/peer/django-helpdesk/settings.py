"""Settings of the minimal Django project that hosts django-helpdesk 2.6.1 as a
performance peer.  setup.sh copies this file to /tmp/peer-dh/project/peerdh/.

Follows django-helpdesk's install docs (docs/install.rst, docs/api.rst):
contrib apps + rest_framework + django_cleanup + helpdesk, SITE_ID, LOGIN_URL,
teams mode off (pinax-teams is an optional extra).  Deviations, all for a fair
throughput measurement and all written in README.md:
  * DEBUG = False, PostgreSQL 15 over 127.0.0.1 with persistent connections
    (CONN_MAX_AGE), no access log;
  * REST API authenticated with DRF TokenAuthentication (one indexed lookup)
    instead of the Basic auth of the docs' curl examples (Basic re-hashes the
    password with PBKDF2, ~1e6 iterations, on every request);
  * outgoing mail goes to Django's dummy backend (rendered, then dropped).
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PEER_ROOT = Path(os.environ.get("PEER_DH_ROOT", "/tmp/peer-dh"))

SECRET_KEY = "peer-dh-benchmark-only-not-a-secret-0123456789abcdefghijklmnop"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",  # required by helpdesk (domain in e-mails)
    "django.contrib.humanize",  # required by helpdesk templates
    "rest_framework",  # required for the API
    "rest_framework.authtoken",  # token auth for the API clients of the bench
    "django_cleanup.apps.CleanupConfig",
    "helpdesk",
]

HELPDESK_TEAMS_MODE_ENABLED = False  # pinax-teams not installed (docs: teams.rst)
HELPDESK_API_ENABLED = True  # 2.6.1's name for the REST API switch
HELPDESK_ACTIVATE_API_ENDPOINT = True  # pre-2.x name; 2.6.1 ignores it
HELPDESK_KB_ENABLED = True
HELPDESK_PUBLIC_ENABLED = True
HELPDESK_DEFAULT_SETTINGS = {
    "use_email_as_submitter": True,
    "email_on_ticket_assign": True,
    "email_on_ticket_change": True,
    "login_view_ticketlist": True,
    "email_on_ticket_apichange": True,
    "preset_replies": True,
    "tickets_per_page": 25,
}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "peerdh.urls"
WSGI_APPLICATION = "peerdh.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,  # with DEBUG=False Django wraps these in the cached loader
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("PEER_DH_DB", "peer_dh"),
        "USER": os.environ.get("PEER_DH_DB_USER", "peer_dh"),
        "PASSWORD": os.environ.get("PEER_DH_DB_PASSWORD", "peer_dh"),
        "HOST": os.environ.get("PEER_DH_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("PEER_DH_DB_PORT", "5432"),
        "CONN_MAX_AGE": 600,
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        # DRF's default, used by the docs' curl examples (bench_pair.py uses tokens)
        "rest_framework.authentication.BasicAuthentication",
    ],
}

SITE_ID = 1
LOGIN_URL = "helpdesk:login"
LOGIN_REDIRECT_URL = "helpdesk:home"

DEFAULT_FROM_EMAIL = "helpdesk@example.com"
SERVER_EMAIL = "helpdesk@example.com"
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = str(PEER_ROOT / "static")
MEDIA_URL = "/media/"
MEDIA_ROOT = str(PEER_ROOT / "media")
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
