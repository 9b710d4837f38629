"""A bare WSGI callable: the reference row of what the web server alone costs (issue 14 part 7).

``manage.py bench`` serves it with the same gunicorn and the same worker settings as the product
(config/gunicorn.conf.py; bench/harness/bare.py) and measures it with wrk beside ``/healthz`` and the
floor: no Django, no middleware, the floor's body.
"""

BODY = b'{"status": "ok"}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
