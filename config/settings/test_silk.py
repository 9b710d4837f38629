"""Test settings with django-silk recording every request, as local settings do.

``make test`` runs a second pass with these settings (``--ds config.settings.test_silk``) over the
tests that must hold with silk recording: the schema fuzzing and silk's own tests
(tests/security/test_silk_recording.py). Tests marked ``silk`` are skipped under the plain test
settings. silk's tables are created with the test database like every other app's.
"""

from .base import with_silk_middleware
from .test import *  # noqa: F403
from .test import INSTALLED_APPS, MIDDLEWARE

SILK_ENABLED = True
INSTALLED_APPS = [*INSTALLED_APPS, "silk"]
MIDDLEWARE = with_silk_middleware(MIDDLEWARE)
SILK_SAMPLE_PERCENT = 100.0
# No body caps (silk's default, as in local settings): every body a test sends is stored.
SILKY_MAX_REQUEST_BODY_SIZE = -1
SILKY_MAX_RESPONSE_BODY_SIZE = -1
