"""The access matrix's marketplace (tests/security/conftest.py), once per fault, in a stack's database.

Run inside a stack's environment (``python -m tests.reliability.fault_world stopped paused ...``):
each argument gets a ``World`` of its own (emails prefixed with it), since the matrix's writes use
up its rows (a job cancelled, an application withdrawn). Prints one JSON document as the last line:
per prefix, the users (id, email, token) and the id of every row a path names.
"""

import json
import sys


def build(prefixes: list[str]) -> dict:
    from tests.security.conftest import build_world

    worlds = {}
    for prefix in prefixes:
        world = build_world(prefix=f"{prefix}-")
        worlds[prefix] = {
            "users": {
                role: {"id": getattr(world, role).id, "email": getattr(world, role).email, "token": token}
                for role, token in world.tokens.items()
            },
            "paths": world.path_values(),
        }
    return worlds


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(build(sys.argv[1:])))
