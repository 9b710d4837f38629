"""What a request and the system cost, and where it went: the ``Server-Timing`` meter (``meter``, no
HTTP: the cache layer counts its Redis round trips into it) and its middleware (``server_timing``),
django-silk's sampling (``profiling``), guarded recording (``silk_recording``) and housekeeping
(``silk_housekeeping``). Sits at the bottom with ``backend.common``: it imports no domain app."""
