# mypy: ignore-errors
# (runs in the peer's venv under /tmp/peer-dh, with Django; this project's mypy cannot see it)
"""URLconf of the peer project (copied by setup.sh to peerdh/urls.py).

django-helpdesk mounted at /helpdesk/ as in its install docs; its REST API
router lives inside helpdesk.urls, so the API is /helpdesk/api/...
"""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("helpdesk/", include("helpdesk.urls", namespace="helpdesk")),
]
