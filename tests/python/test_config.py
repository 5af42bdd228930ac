from __future__ import annotations

from pathlib import Path

import pytest

from reactor.config import CoreSettings, load_config, read_config_file
from reactor.errors import ConfigError
from reactor.paths import reactor_home, state_dir


def test_reactor_home_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("REACTOR_HOME", str(tmp_path / "elsewhere"))
    assert reactor_home() == (tmp_path / "elsewhere").resolve()
    runs = state_dir("runs", "001")
    assert runs.is_dir()
    assert runs.is_relative_to(tmp_path / "elsewhere")
    monkeypatch.delenv("REACTOR_HOME")
    assert reactor_home() == (Path.home() / ".reactor").resolve()


@pytest.mark.parametrize("bad", ["", "../escape", "/abs"])
def test_state_dir_stays_inside_home(bad):
    with pytest.raises(ValueError, match="relative name inside REACTOR_HOME"):
        state_dir(bad)


def test_precedence_defaults_file_env_overrides(tmp_path, monkeypatch):
    config = tmp_path / "reactor.toml"
    config.write_text('[core]\nnum_threads = 4\nlog_level = "debug"\n')
    assert load_config(CoreSettings, section="core").num_threads is None  # defaults
    from_file = load_config(CoreSettings, section="core", path=config)
    assert (from_file.num_threads, from_file.log_level) == (4, "debug")
    monkeypatch.setenv("REACTOR_NUM_THREADS", "6")
    from_env = load_config(CoreSettings, section="core", path=config)
    assert (from_env.num_threads, from_env.log_level) == (6, "debug")  # env beats file
    overridden = load_config(CoreSettings, section="core", path=config, overrides={"num_threads": 2})
    assert overridden.num_threads == 2


def test_yaml_and_reactor_config_variable(tmp_path, monkeypatch):
    config = tmp_path / "reactor.yaml"
    config.write_text("core:\n  log_level: warning\n")
    monkeypatch.setenv("REACTOR_CONFIG", str(config))
    assert load_config(CoreSettings, section="core").log_level == "warning"


def test_invalid_values_name_the_field_path(tmp_path, monkeypatch):
    config = tmp_path / "reactor.toml"
    config.write_text("[core]\nnum_threads = 0\n")
    with pytest.raises(
        ConfigError, match=r"core\.num_threads: Input should be greater than or equal to 1 \(got 0\)"
    ):
        load_config(CoreSettings, section="core", path=config)
    config.write_text("[core]\nnum_thread = 3\n")
    with pytest.raises(ConfigError, match=r"core\.num_thread: Extra inputs are not permitted"):
        load_config(CoreSettings, section="core", path=config)
    monkeypatch.setenv("REACTOR_LOG_LEVEL", "loud")
    with pytest.raises(ConfigError, match=r"core\.log_level"):
        load_config(CoreSettings, section="core")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("broken.toml", "[core\n", "is not valid TOML"),
        ("broken.yaml", "core: [\n", "is not valid YAML"),
        ("list.yaml", "- 1\n- 2\n", "top level must be a table"),
        ("config.ini", "[core]\n", "unsupported extension"),
    ],
)
def test_unreadable_files_are_config_errors(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_config_file(path)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(CoreSettings, section="core", path=tmp_path / "nope.toml")
