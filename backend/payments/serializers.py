from decimal import Decimal

from rest_framework import serializers

from backend.common.input import InputSerializer
from backend.common.money import Currency
from backend.common.serializers import MAX_ID, JobSummarySerializer, UserSummarySerializer
from backend.payments.models import Payment


class PaymentOutputSerializer(serializers.ModelSerializer):
    """A payment from a job's client (payer) to one of its accepted workers (payee). ``amount`` is a decimal string."""

    job = JobSummarySerializer(read_only=True)
    payer = UserSummarySerializer(read_only=True)
    payee = UserSummarySerializer(read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "job", "payer", "payee", "amount", "currency", "status", "created_at", "updated_at"]
        read_only_fields = fields


class PaymentListItemSerializer(PaymentOutputSerializer):
    """A payment in a user's list; ``direction`` says whether that user paid or received it."""

    direction = serializers.ChoiceField(
        choices=["paid", "received"], read_only=True, help_text="`paid` if the user is the payer, else `received`."
    )

    class Meta(PaymentOutputSerializer.Meta):
        fields = [
            "id",
            "job",
            "payer",
            "payee",
            "direction",
            "amount",
            "currency",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PaymentCreateInputSerializer(InputSerializer):
    payee = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="Id of the user paid: an accepted worker of the job."
    )
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.01"), help_text="More than 0."
    )
    currency = serializers.ChoiceField(
        Currency.choices,
        required=False,
        help_text="A supported ISO 4217 code. Defaults to the currency of the payer's account details.",
    )


IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY_MAX_LENGTH = 255


def idempotency_key_from(headers) -> str:
    """The request's ``Idempotency-Key`` header: 1 to 255 visible ASCII characters, or a 400."""
    key = headers.get(IDEMPOTENCY_KEY_HEADER)
    if not key:
        message, code = "This header is required.", "required"
    elif len(key) > _IDEMPOTENCY_KEY_MAX_LENGTH:
        message, code = f"Ensure this header has no more than {_IDEMPOTENCY_KEY_MAX_LENGTH} characters.", "max_length"
    elif not all("!" <= char <= "~" for char in key):
        message, code = "Use visible ASCII characters only (no spaces).", "invalid"
    else:
        return key
    raise serializers.ValidationError({IDEMPOTENCY_KEY_HEADER: [message]}, code=code)
