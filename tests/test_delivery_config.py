"""`delivery:` in the config: the deadline of one send and the claim timeout, as durations, validated at load."""

from datetime import timedelta
from pathlib import Path

import pytest

from tracker.config import Config, ConfigError, load_config


def load(tmp_path: Path, text: str) -> Config:
    config = tmp_path / "tracker.yaml"
    config.write_text(text, encoding="utf-8")
    return load_config(str(config))


def test_the_defaults_are_a_30_second_deadline_and_a_one_minute_claim(tmp_path: Path):
    delivery = load(tmp_path, "sources: []\n").delivery
    assert (delivery.deadline, delivery.claim_timeout) == (30.0, timedelta(minutes=1))


def test_durations_are_written_like_the_services(tmp_path: Path):
    delivery = load(tmp_path, "delivery: {deadline: 45s, claim_timeout: 2m}\n").delivery
    assert (delivery.deadline, delivery.claim_timeout) == (45.0, timedelta(minutes=2))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("delivery: {deadline: soon}\n", "delivery.deadline: expected a duration like 30m, 1h or 1d"),
        ("delivery: {deadline: 0}\n", "delivery.deadline: Input should be greater than or equal to 1"),
        ("delivery: {deadline: 2h}\n", "delivery.deadline: Input should be less than or equal to 600"),
        ("delivery: {claim_timeout: 1s}\n", "delivery.claim_timeout: Input should be greater than or equal to 3"),
        ("delivery: {deadlin: 5s}\n", "delivery.deadlin: unknown key (did you mean 'deadline'?)"),
    ],
)
def test_a_bad_delivery_value_is_refused_naming_the_file_and_the_key(tmp_path: Path, text: str, message: str):
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, text)
    assert str(refused.value).startswith(f"{tmp_path / 'tracker.yaml'}: {message}")
