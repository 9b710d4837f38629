"""Breaking changes between two OpenAPI 3 documents of this API: what would break a client built from the old one.

Used by the schema check (tests/common/test_schema_file.py, `make schema`) to say, when the
committed ``schema.yaml`` and the generated one differ, which differences break clients. Written
here rather than taken from a package: the maintained diff tools are Go (oasdiff) or Node
binaries (openapi-changes), neither in the project's toolchain, and the Python ones on PyPI are
young single-author packages; this API's schema uses a small part of OpenAPI (drf-spectacular's
output: ``$ref`` to components, ``allOf``/``oneOf`` wrappers, no callbacks or links), which this
covers. A change is breaking when a client of the old document can fail against the new one:

- a path, or an operation (method) of a path, removed;
- a parameter added as required, made required, removed (this API refuses an undocumented query
  parameter with a 400, ``unknown_parameter``), or its type changed;
- security required where the operation had none (a client that sent no credentials is refused);
- a request body made required or removed, or one of its media types removed; a body property added
  as required, made required, removed (a 400, ``unknown_field``), or its type changed; an enum value
  of a request removed, or an enum added where any value was taken; a constraint tightened
  (``maxLength``/``maxItems``/``maximum`` lowered, ``minLength``/``minItems``/``minimum`` raised, a
  ``pattern`` added or changed);
- a success (2xx) response removed, or one of its media types removed; a property of a success
  response removed, no longer required (a client may rely on it), made nullable, or its type
  changed; an enum value of a response added, or its enum dropped (a generated client's enum
  refuses a value it does not know).

A type is compared as the set of types a schema allows, through ``oneOf``/``anyOf`` of several
members and ``nullable`` (``{"oneOf": [string, integer]}`` is ``{string, integer}``): a response
whose set grows, or a request whose set shrinks, is a change of type.

Everything else (new paths, operations, optional parameters, response properties, descriptions) is
a difference but not a breaking one. Shapes: ``breaking_changes(old, new) -> list[str]``, each a
sentence naming the operation (``GET /api/v1/jobs/``) and the place (``response 200: results[].id``).
"""

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def breaking_changes(old: dict, new: dict) -> list[str]:
    """The changes from ``old`` to ``new`` that break a client of ``old`` (sentences, in document order)."""
    found: list[str] = []
    old_paths, new_paths = old.get("paths", {}), new.get("paths", {})
    for path, old_item in old_paths.items():
        if path not in new_paths:
            found.append(f"{path}: path removed")
            continue
        for method in HTTP_METHODS:
            if method not in old_item:
                continue
            operation = f"{method.upper()} {path}"
            if method not in new_paths[path]:
                found.append(f"{operation}: operation removed")
                continue
            _Comparison(old, new, operation, found).operation(old_item, new_paths[path], method)
    return found


class _Comparison:
    def __init__(self, old_doc: dict, new_doc: dict, operation: str, found: list[str]) -> None:
        self.old_doc, self.new_doc, self.operation_name, self.found = old_doc, new_doc, operation, found

    def report(self, where: str, what: str) -> None:
        self.found.append(f"{self.operation_name}: {where}: {what}")

    def operation(self, old_item: dict, new_item: dict, method: str) -> None:
        old_op, new_op = old_item[method], new_item[method]
        if _anonymous_allowed(self.old_doc, old_op) and not _anonymous_allowed(self.new_doc, new_op):
            self.report("security", "credentials now required")
        old_params = _parameters(self.old_doc, old_item, old_op)
        new_params = _parameters(self.new_doc, new_item, new_op)
        for key, param in new_params.items():
            where = f"{key[0]} parameter {key[1]}"
            if key not in old_params:
                if param.get("required"):
                    self.report(where, "added as required")
                continue
            if param.get("required") and not old_params[key].get("required"):
                self.report(where, "made required")
            self.schema(where, old_params[key].get("schema", {}), param.get("schema", {}), request=True, seen=set())
        for key in old_params.keys() - new_params.keys():
            self.report(f"{key[0]} parameter {key[1]}", "removed")
        self.request_body(old_op.get("requestBody"), new_op.get("requestBody"))
        old_responses, new_responses = old_op.get("responses", {}), new_op.get("responses", {})
        for status, old_response in old_responses.items():
            if not str(status).startswith("2"):
                continue
            if status not in new_responses:
                self.report(f"response {status}", "removed")
                continue
            old_content = _resolve(self.old_doc, old_response).get("content", {})
            new_content = _resolve(self.new_doc, new_responses[status]).get("content", {})
            for media, body in old_content.items():
                if media not in new_content:
                    self.report(f"response {status}", f"media type {media} removed")
                    continue
                self.schema(
                    f"response {status}", body.get("schema", {}), new_content[media].get("schema", {}), False, set()
                )

    def request_body(self, old_body: dict | None, new_body: dict | None) -> None:
        if new_body is None:
            if old_body is not None and _resolve(self.old_doc, old_body).get("content"):
                self.report("request body", "removed")
            return
        new_body = _resolve(self.new_doc, new_body)
        if old_body is None:
            if new_body.get("required"):
                self.report("request body", "added as required")
            return
        old_body = _resolve(self.old_doc, old_body)
        if new_body.get("required") and not old_body.get("required"):
            self.report("request body", "made required")
        for media in old_body.get("content", {}).keys() - new_body.get("content", {}).keys():
            self.report("request body", f"media type {media} removed")
        for media, body in new_body.get("content", {}).items():
            if media in old_body.get("content", {}):
                self.schema(
                    "request body", old_body["content"][media].get("schema", {}), body.get("schema", {}), True, set()
                )

    def schema(self, where: str, old: dict, new: dict, request: bool, seen: set) -> None:
        """Compare two schemas at ``where``; ``request``: the client sends it (else it reads it)."""
        marker = (id(old), id(new))
        if marker in seen:
            return
        seen.add(marker)
        old, new = _flatten(self.old_doc, old), _flatten(self.new_doc, new)
        old_types, new_types = _types(self.old_doc, old), _types(self.new_doc, new)
        if old_types and new_types:
            narrowed = sorted(old_types - new_types) if request else []
            widened = sorted(new_types - old_types) if not request else []
            if widened == ["null"]:
                self.report(where, "made nullable")
            elif narrowed or widened:
                self.report(where, f"type changed from {_spell(old_types)} to {_spell(new_types)}")
                return
        if "enum" in old and "enum" in new:
            old_values, new_values = set(map(repr, old["enum"])), set(map(repr, new["enum"]))
            if request and old_values - new_values:
                self.report(where, f"enum values removed: {', '.join(sorted(old_values - new_values))}")
            if not request and new_values - old_values:
                self.report(where, f"enum values added: {', '.join(sorted(new_values - old_values))}")
        elif request and "enum" in new and "enum" not in old:
            self.report(where, "enum added (values outside it are refused)")
        elif not request and "enum" in old and "enum" not in new:
            self.report(where, "enum dropped (any value may come back)")
        if request:
            self.constraints(where, old, new)
        if old.get("type") == "array" or "items" in old:
            self.schema(f"{where}[]", old.get("items", {}), new.get("items", {}), request, seen)
            return
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        writable = (lambda p: not p.get("readOnly")) if request else (lambda p: not p.get("writeOnly"))
        for name, prop in old_props.items():
            at = f"{where}: {name}" if ":" not in where else f"{where}.{name}"
            if name not in new_props:
                if writable(_resolve(self.old_doc, prop)):
                    self.report(at, "property removed")
                continue
            if request and name in new_required and name not in old_required:
                self.report(at, "made required")
            if not request and name in old_required and name not in new_required:
                self.report(at, "no longer required")
            self.schema(at, prop, new_props[name], request, seen)
        if request:
            for name in new_required - old_props.keys():
                self.report(f"{where}: {name}", "added as required")

    def constraints(self, where: str, old: dict, new: dict) -> None:
        """A request's value constraints, tightened: what a client could send before is refused now."""
        for upper in ("maxLength", "maxItems", "maximum", "exclusiveMaximum", "maxProperties"):
            if upper in new and (upper not in old or new[upper] < old[upper]):
                self.report(where, f"{upper} lowered to {new[upper]} (was {old.get(upper, 'unbounded')})")
        for lower in ("minLength", "minItems", "minimum", "exclusiveMinimum", "minProperties"):
            if lower in new and (lower not in old or new[lower] > old[lower]):
                self.report(where, f"{lower} raised to {new[lower]} (was {old.get(lower, 'unbounded')})")
        if "pattern" in new and new.get("pattern") != old.get("pattern"):
            self.report(where, f"pattern {'changed' if 'pattern' in old else 'added'}: {new['pattern']}")


def _types(doc: dict, schema: dict) -> frozenset[str]:
    """The JSON types ``schema`` allows (``"null"`` for ``nullable``), through ``oneOf``/``anyOf`` members;
    empty when it does not say (any type)."""
    found: set[str] = set()
    members = schema.get("oneOf") or schema.get("anyOf")
    if isinstance(members, list) and members:
        for member in members:
            member_types = _types(doc, _flatten(doc, member))
            if not member_types:
                return frozenset()
            found |= member_types
    elif isinstance(schema.get("type"), list):
        found |= set(schema["type"])
    elif schema.get("type"):
        found.add(schema["type"])
    elif "enum" in schema and schema["enum"] == [None]:
        found.add("null")
    else:
        return frozenset()
    if schema.get("nullable"):
        found.add("null")
    return frozenset(found)


def _spell(types: frozenset[str]) -> str:
    return " | ".join(sorted(types))


def _anonymous_allowed(doc: dict, operation: dict) -> bool:
    """Whether the operation can be called without credentials (an empty requirement ``{}``, or none)."""
    requirements = operation.get("security", doc.get("security"))
    return requirements is None or requirements == [] or any(requirement == {} for requirement in requirements)


def _resolve(doc: dict, node: dict) -> dict:
    """``node`` with its ``$ref`` (``#/components/...``) followed, as often as it takes."""
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _flatten(doc: dict, schema: dict) -> dict:
    """A schema with its ``$ref`` followed and a single-member ``allOf``/``oneOf``/``anyOf`` (drf-spectacular's
    wrappers for nullable or described references) replaced by its member, keeping ``nullable``."""
    schema = _resolve(doc, schema)
    for combinator in ("allOf", "oneOf", "anyOf"):
        members = schema.get(combinator)
        if isinstance(members, list) and len(members) == 1:
            inner = _flatten(doc, members[0])
            return {**inner, **{k: v for k, v in schema.items() if k != combinator}}
    return schema


def _parameters(doc: dict, item: dict, operation: dict) -> dict[tuple[str, str], dict]:
    """The parameters of an operation (the path item's, overridden by the operation's), by ``(in, name)``."""
    found = {}
    for raw in (*item.get("parameters", ()), *operation.get("parameters", ())):
        param = _resolve(doc, raw)
        found[(param["in"], param["name"])] = param
    return found
