# mypy: ignore-errors
# (runs in the peer's venv under /tmp/peer-dh, with Django; this project's mypy cannot see it)
"""WSGI entry point of the peer project (copied by setup.sh to peerdh/wsgi.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerdh.settings")
application = get_wsgi_application()
