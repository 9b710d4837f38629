"""URL converters.

Ids in paths are limited to 18 digits so they always fit a 64-bit primary key: a longer number
is an unknown URL (404), never a database overflow (500).
"""


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
