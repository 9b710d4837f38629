import django_filters

from backend.payments.models import Payment


class PaymentFilter(django_filters.FilterSet):
    """``?status=`` narrows a payment list to one status; an unknown status is a 400."""

    status = django_filters.ChoiceFilter(choices=Payment.Status.choices)

    class Meta:
        model = Payment
        fields = ["status"]
