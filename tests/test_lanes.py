"""make test's two lanes (tests/lanes.py): each lane's services, and the refusal when they do not fit."""

import pytest

from tests.lanes import combined_status, process_lane_environment


def test_the_process_lane_gets_its_own_database_and_the_next_two_redis_databases():
    env = process_lane_environment(
        {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/paeshift", "REDIS_URL": "redis://127.0.0.1:6379/10"}
    )
    assert env["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5432/paeshift_lane"
    assert env["REDIS_URL"] == "redis://127.0.0.1:6379/12"  # its broker is 13: the settings' next database


def test_a_redis_url_without_a_database_is_database_zero():
    assert (
        process_lane_environment({"DATABASE_URL": "postgres://h/p", "REDIS_URL": "redis://h:6379"})["REDIS_URL"]
        == "redis://h:6379/2"
    )


def test_a_redis_database_too_high_for_the_lane_is_refused_with_the_way_out():
    with pytest.raises(SystemExit, match="TEST_LANES=1"):
        process_lane_environment({"DATABASE_URL": "postgres://h/p", "REDIS_URL": "redis://h:6379/13"})


def test_a_lane_that_selected_nothing_is_not_a_failure_unless_no_lane_selected_anything():
    assert combined_status([0, 5]) == 0  # e.g. make test PYTEST_ARGS=tests/common/test_schema_file.py
    assert combined_status([5, 1]) == 1
    assert combined_status([2, 0]) == 2
    assert combined_status([5, 5]) == 5
    assert combined_status([0, 0]) == 0
