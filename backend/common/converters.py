"""URL converters.

Ids in paths are limited to 18 digits so they always fit a 64-bit primary key: a longer number
is an unknown URL (404), never a database overflow (500).
"""

# The largest id a path accepts.
MAX_ID = 10**18 - 1
# How the schema documents such a path parameter (drf-spectacular's PATH_CONVERTER_OVERRIDES): a
# number, not a string; ids start at 1 (0 is a well-formed path that names nothing: a 404).
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
