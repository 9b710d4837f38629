from decimal import Decimal

import pytest

from backend.ratings.selectors import (
    ReviewSummary,
    review_list_given,
    review_list_received,
    review_summary_for_user,
    reviewer_exists,
)
from tests.factories import make_review, make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("selector", [review_list_received, review_list_given])
@pytest.mark.parametrize("rows", [1, 25])
def test_review_lists_read_everything_the_serializer_needs_in_one_query(selector, rows, django_assert_num_queries):
    user = make_user()
    for _ in range(rows):
        make_review(reviewer=make_user(), reviewee=user)
        make_review(reviewer=user, reviewee=make_user())

    with django_assert_num_queries(1):
        reviews = list(selector(user_id=user.id))
        shown = [(r.job.title, r.reviewer.profile.display_name, r.reviewee.profile.display_name) for r in reviews]

    assert len(shown) == rows


def test_review_lists_keep_received_and_given_apart():
    user = make_user()
    received = make_review(reviewer=make_user(), reviewee=user)
    given = make_review(reviewer=user, reviewee=make_user())

    assert [r.pk for r in review_list_received(user_id=user.id)] == [received.pk]
    assert [r.pk for r in review_list_given(user_id=user.id)] == [given.pk]


def test_review_summary_in_one_query(django_assert_num_queries):
    user = make_user()
    for rating in (5, 4, 4):
        make_review(reviewer=make_user(), reviewee=user, rating=rating)
    make_review(reviewer=user, reviewee=make_user(), rating=1)  # given, not received

    with django_assert_num_queries(1):
        summary = review_summary_for_user(user_id=user.id)

    assert summary.review_count == 3
    assert round(summary.average_rating, 4) == Decimal("4.3333")


def test_review_summary_of_a_user_without_reviews():
    assert review_summary_for_user(user_id=make_user().id) == ReviewSummary(average_rating=None, review_count=0)


def test_review_summary_and_reviewer_exists_ignore_unknown_and_deactivated_users():
    inactive = make_user(is_active=False)

    assert review_summary_for_user(user_id=999999) is None
    assert review_summary_for_user(user_id=inactive.id) is None
    assert not reviewer_exists(user_id=999999)
    assert not reviewer_exists(user_id=inactive.id)
    assert reviewer_exists(user_id=make_user().id)
