"""Schema pieces the error library does not declare on its own (the view serving the document:
backend/common/schema_view.py)."""

import re

from django.db import models
from django_filters import CharFilter
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ServerErrorEnum
from drf_standardized_errors.settings import package_settings as standardized_errors_settings
from rest_framework import serializers
from rest_framework.settings import api_settings

from backend.common.input import QUERY_TEXT_PATTERN, decimal_pattern, text_pattern
from backend.common.legacy import DEPRECATED_AT, DEPRECATION_HEADERS
from backend.common.pagination import PageNumberPagination
from backend.common.query_params import UNKNOWN_PARAMETER, is_api_view
from backend.common.request_body import BODY_ERROR_CODES, UPDATE_METHODS
from backend.common.serializers import UNKNOWN_FIELD, InputSerializer


class Error409Serializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse409Serializer(serializers.Serializer):
    """The request conflicts with the resource's current state (wrong status, slots full, key reused)."""

    type = serializers.ChoiceField(choices=["client_error"])
    errors = Error409Serializer(many=True)


class Error413Serializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse413Serializer(serializers.Serializer):
    """The request body is larger than the API accepts (64 KiB unless the deployment sets otherwise)."""

    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error413Serializer(many=True)


class Error411Serializer(Error413Serializer):
    pass


class ErrorResponse411Serializer(serializers.Serializer):
    """A PATCH or PUT sent without Content-Length or Transfer-Encoding: HTTP/1.1 reads it as having no body."""

    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error411Serializer(many=True)


class ServiceUnavailableCodeEnum(models.TextChoices):
    SERVICE_UNAVAILABLE = "service_unavailable"


class Error503Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ServiceUnavailableCodeEnum.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse503Serializer(serializers.Serializer):
    """The database cannot be reached for the moment (a restart, a failover): nothing was done, retry
    after the ``Retry-After`` seconds."""

    type = serializers.ChoiceField(choices=ServerErrorEnum.choices)
    errors = Error503Serializer(many=True)


class AutoSchema(StandardizedErrorsAutoSchema):
    """drf-standardized-errors' schema, plus the 413 of operations that read a request body (and the
    411 of those that PATCH or PUT one), the
    400 of an unknown query parameter and the 503 of every operation (backend.common.errors)."""

    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if status_code == "411":
            return (
                status_code not in responses
                and self.method in UPDATE_METHODS
                and self.get_request_serializer() is not None
            )
        if status_code == "413":
            return (
                status_code not in responses
                and self.method in ("POST", "PUT", "PATCH")
                and self.get_request_serializer() is not None
            )
        return super()._should_add_error_response(responses, status_code)

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        if isinstance(serializer, ErrorResponse503Serializer) or serializer is ErrorResponse503Serializer:
            response.setdefault("headers", {})["Retry-After"] = {
                "schema": {"type": "integer"},
                "description": "Seconds to wait before retrying.",
            }
        return response

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body is not None and self.method in UPDATE_METHODS:
            # PATCH and PUT without a body are a 411 (backend.common.request_body): the body is required,
            # even where every field is optional (send `{}` to change nothing).
            body["required"] = True
        return body

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, InputSerializer):
            # A key the body does not declare is a 400 (`unknown_field`): say so, so that a schema-driven
            # client (or fuzzer) does not take extra keys for valid input.
            schema["additionalProperties"] = False
        return schema

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request" or schema.get("type") != "string":
            return schema
        if isinstance(field, serializers.DecimalField):
            schema["pattern"] = decimal_pattern(field)
        elif isinstance(field, serializers.CharField) and (pattern := text_pattern(field)):
            schema["pattern"] = pattern
        return schema

    def _get_filter_parameters(self) -> list[dict]:
        """django-filter's query parameters, documented with ``allowEmptyValue``: an empty value
        (``?status=``) is the same as leaving the filter out, as django-filter treats it. A text
        filter's length limit and the characters Django's form field refuses (NUL) are documented
        too; drf-spectacular leaves them out."""
        parameters = super()._get_filter_parameters()
        filters = getattr(getattr(self.view, "filterset_class", None), "base_filters", {})
        for parameter in parameters:
            parameter["allowEmptyValue"] = True
            query_filter = filters.get(parameter["name"])
            if isinstance(query_filter, CharFilter) and parameter["schema"].get("type") == "string":
                parameter["schema"]["pattern"] = QUERY_TEXT_PATTERN
                if (max_length := query_filter.extra.get("max_length")) is not None:
                    parameter["schema"]["maxLength"] = max_length
        return parameters

    def _get_extra_validation_errors(self) -> dict[str | None, set[str]]:
        errors = super()._get_extra_validation_errors()
        if is_api_view(type(self.view)):
            # Every API view refuses query parameters it does not document (backend.common.query_params).
            errors[None] = {*errors.get(None, ()), UNKNOWN_PARAMETER}
        body = self.get_request_serializer() if self.method in ("POST", "PUT", "PATCH") else None
        if isinstance(body, InputSerializer) or (isinstance(body, type) and issubclass(body, InputSerializer)):
            # A key the body's serializer does not declare (backend.common.serializers.InputSerializer).
            key = api_settings.NON_FIELD_ERRORS_KEY
            errors[key] = {*errors.get(key, ()), UNKNOWN_FIELD}
        paginator = self._get_paginator()
        if isinstance(paginator, PageNumberPagination) and self.method == "GET":
            errors[paginator.page_size_query_param] = {*errors.get(paginator.page_size_query_param, ()), "invalid"}
        return errors


LEGACY_DESCRIPTION = (
    "Deprecated: a path of the previous system, kept for its clients. It answers with the same data as "
    "its canonical twin, with or without a trailing slash. Every response says so in its headers: "
    f"`Deprecation: {DEPRECATION_HEADERS['Deprecation']}` (RFC 9745: since {DEPRECATED_AT:%Y-%m-%d}), "
    f"`Sunset: {DEPRECATION_HEADERS['Sunset']}` (RFC 8594: it may stop answering from then) and "
    f"`Link: {DEPRECATION_HEADERS['Link']}`."
)


def list_item_error_attrs(result, generator, request, public, **kwargs):
    """drf-spectacular postprocessing hook: an error inside a list is documented as it is sent.

    drf-standardized-errors names the ``attr`` of an error in the third item of ``skills`` as
    ``skills.INDEX`` in the schema, while responses carry ``skills.2``; the documented value becomes
    a pattern that matches what the API sends.
    """
    placeholder = standardized_errors_settings.LIST_INDEX_IN_API_SCHEMA
    separator = standardized_errors_settings.NESTED_FIELD_SEPARATOR
    for component in result.get("components", {}).get("schemas", {}).values():
        attr = component.get("properties", {}).get("attr", {})
        names = attr.get("enum") or []
        if len(names) != 1 or not isinstance(names[0], str) or placeholder not in names[0].split(separator):
            continue
        parts = ["[0-9]+" if part == placeholder else re.escape(part) for part in names[0].split(separator)]
        attr.pop("enum")
        attr["pattern"] = "^" + re.escape(separator).join(parts) + "$"
        attr["description"] = f"`{names[0]}`, with {placeholder} the position of the item in the list (from 0)."
    return result


def request_body_error_codes(result, generator, request, public, **kwargs):
    """drf-spectacular postprocessing hook: the codes ``RequestBodyMiddleware`` answers with.

    A body whose framing cannot be trusted is a 400 like one that does not parse (documented as
    ``ParseErrorResponse`` on every operation that reads a body), and a compressed body a 415.
    """
    schemas = result.get("components", {}).get("schemas", {})
    for name, codes in BODY_ERROR_CODES.items():
        enum = schemas.get(name, {}).get("enum")
        if enum is not None:
            enum.extend(code for code in codes if code not in enum)
    return result


def error_unions_without_discriminator(result, generator, request, public, **kwargs):
    """drf-spectacular postprocessing hook: drf-standardized-errors' error unions lose their ``discriminator``.

    Each operation's 400 lists one error shape per ``attr`` as a ``oneOf`` with a discriminator on
    ``attr``; its mapping has a ``null`` key (an error of no field: ``attr`` is JSON null), which
    OpenAPI forbids (mapping keys are strings) and YAML-reading generators refuse
    (openapi-python-client stops on it), and an item of a list is sent as ``skills.2``, not under
    the mapping's ``skills.INDEX`` (``list_item_error_attrs``). Without the discriminator the union
    still says which ``attr``/``code`` pairs exist; a client tries its members in turn.
    """
    for component in result.get("components", {}).get("schemas", {}).values():
        discriminator = component.get("discriminator")
        if "oneOf" in component and discriminator and discriminator.get("propertyName") == "attr":
            del component["discriminator"]
    return result
