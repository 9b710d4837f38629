"""make test's two lanes (tests/lanes.py): each lane's services, and the refusal when they do not fit."""

import pytest

from tests.lanes import process_lane_environment


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
