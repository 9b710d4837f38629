"""Who may read private data.

Private data (account details, payments) is visible to its owner and to staff. Anyone else gets
a 404, the same answer as for a user that does not exist, so private endpoints never reveal
whether there is something to hide. Authenticated actions on public objects that the caller may
not perform (editing someone else's job) get a 403.
"""

from rest_framework.exceptions import NotFound


def ensure_owner_or_staff(user, owner_id: int) -> None:
    if not (user.is_authenticated and (user.id == owner_id or user.is_staff)):
        raise NotFound()
