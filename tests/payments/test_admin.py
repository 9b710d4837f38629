import pytest

from backend.payments.models import Payment
from tests.factories import make_payment, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(make_user(is_staff=True, is_superuser=True))
    return client


def test_admin_lists_filters_and_searches_payments(admin_client):
    payer = make_user(email="payer@example.com")
    payment = make_payment(payer=payer, payee=make_user(), status=Payment.Status.PENDING)
    make_payment(payer=make_user(), payee=make_user())

    assert admin_client.get("/admin/payments/payment/").status_code == 200
    filtered = admin_client.get("/admin/payments/payment/?status__exact=pending&q=payer@example.com")
    assert filtered.status_code == 200
    assert list(filtered.context["cl"].result_list) == [payment]
    assert admin_client.get(f"/admin/payments/payment/{payment.id}/change/").status_code == 200


def test_admin_payments_are_read_only(admin_client):
    payment = make_payment(payer=make_user(), payee=make_user(), status=Payment.Status.PENDING)

    assert admin_client.get("/admin/payments/payment/add/").status_code == 403
    response = admin_client.post(f"/admin/payments/payment/{payment.id}/change/", {"status": "succeeded"})
    assert response.status_code == 403
    assert admin_client.post(f"/admin/payments/payment/{payment.id}/delete/", {"post": "yes"}).status_code == 403
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
