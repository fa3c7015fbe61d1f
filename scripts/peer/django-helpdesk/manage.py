#!/usr/bin/env python
# mypy: ignore-errors
# (runs in the peer's venv under /tmp/peer-dh, with Django; this project's mypy cannot see it)
"""manage.py of the peer project (copied by setup.sh to /tmp/peer-dh/project/)."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerdh.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
