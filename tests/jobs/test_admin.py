import pytest

from tests.factories import make_application, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(make_user(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(("model", "status"), [("job", "open"), ("application", "pending")])
def test_admin_lists_filters_and_searches(admin_client, model, status):
    application = make_application()

    assert admin_client.get(f"/admin/jobs/{model}/").status_code == 200
    filtered = admin_client.get(f"/admin/jobs/{model}/?status__exact={status}&q=warehouse")
    assert filtered.status_code == 200
    assert filtered.context["cl"].result_count == 1
    object_id = application.job_id if model == "job" else application.id
    assert admin_client.get(f"/admin/jobs/{model}/{object_id}/change/").status_code == 200
