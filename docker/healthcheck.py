"""Container health check of the web process: GET /healthz on this container.

Sends a Host header that ALLOWED_HOSTS accepts (the first of DJANGO_ALLOWED_HOSTS), since Django
answers 400 to any other host, health probes included.
"""

import os
import sys
import urllib.request

host = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost").split(",")[0].strip().lstrip(".")
if host in ("", "*"):
    host = "localhost"
request = urllib.request.Request(f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz", headers={"Host": host})
try:
    with urllib.request.urlopen(request, timeout=3) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:
    sys.exit(f"/healthz: {exc}")
