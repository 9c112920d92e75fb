from handler.format.layout import UNKNOWN_TIME_FOLDER, object_key, time_folder


def test_documented_key_shape() -> None:
    key = object_key("logs/prod", "auth", 3, 1042, 1764054000123, ".jsonl.gz")
    assert key == "logs/prod/auth/dt=2025-11-25/hour=07/auth+3+00000000000000001042.jsonl.gz"


def test_empty_prefix_has_no_leading_slash() -> None:
    assert object_key("", "t", 0, 0, 0, ".jsonl").startswith("t/dt=1970-01-01/hour=00/")


def test_keys_sort_by_offset_within_a_folder() -> None:
    keys = [object_key("", "t", 0, start, 0, ".jsonl") for start in (9, 10, 100, 2)]
    assert sorted(keys) == [object_key("", "t", 0, s, 0, ".jsonl") for s in (2, 9, 10, 100)]


def test_absurd_timestamps_get_a_named_folder() -> None:
    assert time_folder(-1) == UNKNOWN_TIME_FOLDER
    assert time_folder(32503680000000) == UNKNOWN_TIME_FOLDER  # year 3000
    assert time_folder(1764054000123 * 1000) == UNKNOWN_TIME_FOLDER  # microseconds as millis
    assert time_folder(4102444799999) == "dt=2099-12-31/hour=23"
