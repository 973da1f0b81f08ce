"""City profile validation (desk.city.profile.load_profile) and start-up with a bad one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from desk.city.profile import DEFAULT_PROFILE_PATH, ProfileError, load_profile

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_PROFILE = REPO_ROOT.parent / "shared" / "city" / "shifan.yaml"


@pytest.fixture(scope="module")
def reference() -> dict:
    if not REFERENCE_PROFILE.is_file():
        pytest.skip(f"reference city profile not found at {REFERENCE_PROFILE}")
    return yaml.safe_load(REFERENCE_PROFILE.read_text(encoding="utf-8"))


@pytest.fixture
def default_raw() -> dict:
    """The default profile as plain data, for building broken variants of it."""
    return yaml.safe_load(DEFAULT_PROFILE_PATH.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# -- the default profile agrees with the reference ---------------------------------


def test_default_profile_matches_reference_city(reference):
    city = load_profile().city

    for key in ("code", "name", "hotline", "kind"):
        assert getattr(city, key) == reference["city"][key], key


def test_default_profile_matches_reference_districts_and_streets(reference):
    profile = load_profile()

    assert profile.districts.keys() == reference["districts"].keys()
    for district, streets in reference["districts"].items():
        assert sorted(profile.districts[district]) == sorted(streets), district


def test_default_profile_matches_reference_departments(reference):
    assert load_profile().departments == reference["departments"]


def test_default_profile_matches_reference_request_types(reference):
    profile = load_profile()

    assert profile.request_types.keys() == reference["request_types"].keys()
    for code, expected in reference["request_types"].items():
        actual = profile.request_types[code]
        assert (actual.name, actual.respond_h, actual.resolve_h) == (
            expected["name"],
            expected["respond_h"],
            expected["resolve_h"],
        ), code


def test_default_profile_matches_reference_responsibility_matrix(reference):
    profile = load_profile()

    assert profile.categories.keys() == reference["categories"].keys()
    for cat_code, category in reference["categories"].items():
        actual = profile.categories[cat_code]
        assert actual.name == category["name"], cat_code
        assert actual.scenarios.keys() == category["scenarios"].keys(), cat_code
        for scen_code, scenario in category["scenarios"].items():
            got = actual.scenarios[scen_code]
            assert (got.name, got.owner, got.urgent) == (
                scenario["name"],
                scenario["owner"],
                scenario.get("urgent", False),
            ), f"{cat_code}.{scen_code}"


def test_every_default_scenario_has_keywords():
    """A scenario without keywords can never be chosen by the dispatcher."""
    empty = [f"{c}.{s}" for c, s, scen in load_profile().scenarios() if not scen.keywords]

    assert empty == []


# -- broken profiles ---------------------------------------------------------------


def test_scenario_owner_must_be_a_department(tmp_path, default_raw):
    default_raw["categories"]["noise"]["scenarios"]["renovation"]["owner"] = "NOSUCHDEPT"

    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, default_raw))

    message = str(info.value)
    assert "noise.scenarios.renovation" in message
    assert "NOSUCHDEPT" in message
    assert str(tmp_path / "city.yaml") in message


def test_missing_file(tmp_path):
    path = tmp_path / "absent.yaml"

    with pytest.raises(ProfileError, match="file not found") as info:
        load_profile(path)

    assert info.value.path == path


def test_invalid_yaml(tmp_path):
    path = tmp_path / "city.yaml"
    path.write_text("city: {code: shifan\ndistricts: [\n", encoding="utf-8")

    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(path)


@pytest.mark.parametrize("content", ["", "- just\n- a list\n", "plain text\n"])
def test_top_level_must_be_a_mapping(tmp_path, content):
    path = tmp_path / "city.yaml"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ProfileError, match="mapping"):
        load_profile(path)


def test_street_under_two_districts(tmp_path, default_raw):
    default_raw["districts"]["城西区"].append("东湖街道")

    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, default_raw))

    message = str(info.value)
    assert "东湖街道" in message and "城东区" in message and "城西区" in message


def test_required_request_type_missing(tmp_path, default_raw):
    del default_raw["request_types"]["urgent"]

    with pytest.raises(ProfileError, match="urgent"):
        load_profile(_write(tmp_path, default_raw))


def test_missing_section_names_it(tmp_path, default_raw):
    del default_raw["departments"]

    with pytest.raises(ProfileError, match="departments"):
        load_profile(_write(tmp_path, default_raw))


def test_a_valid_variant_loads(tmp_path, default_raw):
    """The checks reject what is wrong, not every profile that differs from the default."""
    default_raw["city"].update(code="othercity", name="他市", ticket_prefix="TC")
    default_raw["departments"]["NEWDEPT"] = "新部门"
    default_raw["categories"]["noise"]["scenarios"]["renovation"]["owner"] = "NEWDEPT"

    profile = load_profile(_write(tmp_path, default_raw))

    assert profile.city.prefix == "TC"
    assert profile.scenario("noise", "renovation").owner == "NEWDEPT"


# -- `python -m desk` with a bad profile ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_desk_refuses_to_start_with_a_bad_profile(tmp_path, default_raw):
    default_raw["categories"]["noise"]["scenarios"]["renovation"]["owner"] = "NOSUCHDEPT"
    env = {
        **os.environ,
        "CITY_PROFILE": str(_write(tmp_path, default_raw)),
        "DESK_PORT": str(_free_port()),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}",
    }

    done = subprocess.run(
        [sys.executable, "-m", "desk"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )

    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "invalid city profile" in output
    assert "noise.scenarios.renovation" in output and "NOSUCHDEPT" in output
    assert "Traceback" not in output
    assert not (tmp_path / "desk.db").exists()  # it stopped before touching the database


def test_an_address_read_out_with_pauses_keeps_its_street_and_detail() -> None:
    from desk.city.profile import load_profile
    from desk.dispatch.location import LocationResolver

    resolver = LocationResolver(load_profile(REPO_ROOT / "desk" / "city" / "shifan.yaml"))
    place = resolver.resolve("在城东区、东湖街道幸福小区门口")  # how Whisper writes a spoken pause
    assert (place.district, place.street) == ("城东区", "东湖街道")
    assert place.location == "城东区、东湖街道幸福小区门口"
