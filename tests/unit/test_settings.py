"""Settings: every field is documented in the README's configuration table, read from `GOVLAKE_<FIELD>`,
and an invalid value is refused naming the field."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from infra.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `GOVLAKE_([A-Z0-9_]+)` \| (.*?) \| (.*) \|$")


def readme_table() -> dict[str, tuple[str, str]]:
    """field → (default, what it does), from the table of the README's "Configuration" section."""
    section = README.read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [ROW.match(line) for line in section.splitlines() if line.startswith("| `GOVLAKE_")]
    assert all(rows), "a table row that does not parse"
    return {m.group(1).lower(): (m.group(2), m.group(3)) for m in rows if m}


@pytest.fixture
def clean_env(monkeypatch):
    """No GOVLAKE_ variable set (the test session's conftest sets a few)."""
    for name in list(os.environ):
        if name.startswith("GOVLAKE_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_the_readme_lists_exactly_the_settings():
    table = readme_table()
    assert sorted(table) == sorted(Settings.model_fields)
    for name, field in Settings.model_fields.items():
        default, what = table[name]
        assert default, f"GOVLAKE_{name.upper()}: no default given"
        assert field.description and field.description in what, f"GOVLAKE_{name.upper()}: {what!r}"


def test_plain_defaults_in_the_readme_are_the_code_defaults(clean_env):
    s = Settings()
    for name, (default, _) in readme_table().items():
        declared = Settings.model_fields[name].default
        if isinstance(declared, bool):
            assert default == f"`{str(declared).lower()}`", name
        elif isinstance(declared, int | str) and declared and not isinstance(declared, Path):
            assert default == f"`{declared}`" == f"`{getattr(s, name)}`", name


def test_settings_come_from_the_environment(clean_env):
    clean_env.setenv("GOVLAKE_TRINO_PORT", "19999")
    clean_env.setenv("GOVLAKE_TRINO_SECURITY", "0")
    s = Settings()
    assert s.trino_port == 19999
    assert s.trino_https_port == 19999 + 5 and s.trino_events_port == 19999 + 7
    assert s.trino_security is False


def test_an_explicit_https_port_wins(clean_env):
    clean_env.setenv("GOVLAKE_TRINO_PORT", "19999")
    clean_env.setenv("GOVLAKE_TRINO_HTTPS_PORT", "19443")
    assert Settings().trino_https_port == 19443


@pytest.mark.parametrize(("variable", "value"), [("TRINO_PORT", "abc"), ("SHUFFLE_PARTITIONS", "0")])
def test_an_invalid_value_names_the_field(clean_env, variable, value):
    clean_env.setenv(f"GOVLAKE_{variable}", value)
    with pytest.raises(ValidationError) as err:
        Settings()
    assert [e["loc"] for e in err.value.errors()] == [(variable.lower(),)]
    assert variable.lower() in str(err.value)
