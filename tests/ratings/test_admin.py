import pytest

from tests.factories import make_review, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(make_user(is_staff=True, is_superuser=True))
    return client


def test_admin_lists_filters_and_searches_reviews(admin_client):
    review = make_review(reviewer=make_user(email="critic@example.com"), reviewee=make_user(), rating=2)
    make_review(reviewer=make_user(), reviewee=make_user(), rating=5)

    assert admin_client.get("/admin/ratings/review/").status_code == 200
    filtered = admin_client.get("/admin/ratings/review/?rating=2&q=critic@example.com")
    assert filtered.status_code == 200
    assert list(filtered.context["cl"].result_list) == [review]


def test_admin_moderates_a_reviews_comment_but_not_its_rating(admin_client):
    review = make_review(reviewer=make_user(), reviewee=make_user(), rating=2, comment="Rude words.")

    response = admin_client.post(
        f"/admin/ratings/review/{review.id}/change/", {"comment": "[removed by moderation]", "rating": 5}
    )

    assert response.status_code == 302, response.content
    review.refresh_from_db()
    assert (review.comment, review.rating) == ("[removed by moderation]", 2)
    assert admin_client.get("/admin/ratings/review/add/").status_code == 403
