from django.conf import settings
from django.db import models
from django.db.models import Q

from backend.common.money import Currency


class Payment(models.Model):
    """Money from a job's client (payer) to one of its accepted workers (payee)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        REFUNDED = "refunded"

    job = models.ForeignKey("jobs.Job", on_delete=models.PROTECT, related_name="payments")
    payer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments_made")
    payee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments_received")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.USD)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    idempotency_key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=~Q(payer=models.F("payee")), name="payment_payer_is_not_payee"),
            models.CheckConstraint(condition=Q(currency__in=Currency.values), name="payment_currency_supported"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "succeeded", "failed", "refunded"]), name="payment_status_valid"
            ),
            # Idempotency keys are scoped to the client that sends them, as payment APIs do.
            models.UniqueConstraint(fields=["payer", "idempotency_key"], name="payment_idempotency_key_unique"),
        ]
        indexes = [
            # A user's payments, newest first: WHERE payer_id = ? OR payee_id = ? ORDER BY created_at DESC.
            # One index per side; PostgreSQL combines them (BitmapOr), see docs/indexes.md.
            models.Index(fields=["payer", "-created_at", "-id"], name="payment_payer_created_idx"),
            models.Index(fields=["payee", "-created_at", "-id"], name="payment_payee_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Payment {self.pk}: {self.amount} {self.currency}"
