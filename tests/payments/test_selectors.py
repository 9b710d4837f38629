import pytest

from backend.payments.selectors import job_for_payment, payment_get, payment_list_for_user, user_exists
from tests.factories import make_completed_job, make_payment, make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("rows", [1, 25])
def test_payment_list_for_user_reads_everything_the_serializer_needs_in_one_query(rows, django_assert_num_queries):
    user = make_user()
    for i in range(rows):
        if i % 2:
            make_payment(payer=user, payee=make_user())
        else:
            make_payment(payer=make_user(), payee=user)

    with django_assert_num_queries(1):
        payments = list(payment_list_for_user(user_id=user.id))
        shown = [
            (p.job.title, p.payer.profile.display_name, p.payee.profile.display_name, p.direction) for p in payments
        ]

    assert len(shown) == rows


def test_payment_list_for_user_marks_each_payment_paid_or_received():
    user = make_user()
    paid = make_payment(payer=user, payee=make_user())
    received = make_payment(payer=make_user(), payee=user)
    make_payment(payer=make_user(), payee=make_user())

    directions = {p.pk: p.direction for p in payment_list_for_user(user_id=user.id)}

    assert directions == {paid.pk: "paid", received.pk: "received"}


def test_payment_get_reads_the_payment_with_its_job_and_parties_in_one_query(django_assert_num_queries):
    payment = make_payment(payer=make_user(), payee=make_user())

    with django_assert_num_queries(1):
        found = payment_get(payment_id=payment.pk)
        shown = (found.job.title, found.payer.profile.display_name, found.payee.profile.display_name)

    assert shown == (payment.job.title, payment.payer.profile.display_name, payment.payee.profile.display_name)

    assert payment_get(payment_id=999999) is None


def test_job_for_payment_reads_the_payers_profile_and_currency_in_one_query(django_assert_num_queries):
    client = make_user()
    job = make_completed_job(client=client, workers=[make_user()])

    with django_assert_num_queries(1):
        found = job_for_payment(job_id=job.pk)
        assert (found.client.profile.display_name, found.client.account_details.currency) == (
            client.profile.display_name,
            "USD",
        )

    assert job_for_payment(job_id=999999) is None


def test_user_exists_includes_deactivated_users():
    user = make_user(is_active=False)

    assert user_exists(user_id=user.pk)
    assert not user_exists(user_id=999999)
