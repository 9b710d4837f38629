from django.contrib import admin

from backend.payments.models import Payment


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    """Read-only: payments are created and moved through their states by the API's services only
    (idempotency, allowed transitions), so money records never change behind their back."""

    list_display = ["id", "job", "payer", "payee", "amount", "currency", "status", "created_at"]
    list_filter = ["status", "currency"]
    list_select_related = ["job", "payer", "payee"]
    search_fields = ["idempotency_key", "payer__email", "payee__email", "job__title"]
    raw_id_fields = ["job", "payer", "payee"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
