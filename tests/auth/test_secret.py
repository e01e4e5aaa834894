"""The session signing key: GOVERNOR_SECRET_KEY when set, else a random key in a 0600 file."""

import stat
import threading

import pytest
from pydantic import SecretStr

from governor.auth.secret import key_file, signing_key
from governor.config import Settings, get_settings
from governor.errors import ConfigError


class WithSecretKey(Settings):
    """Settings with the secret_key field (config.py gains it when access is wired in)."""

    secret_key: SecretStr | None = None


def test_a_key_is_made_once_beside_the_backups_and_kept(tmp_path):
    settings = get_settings()
    path = key_file(settings)
    assert path == tmp_path / "secret_key"  # the fixtures put backups in tmp_path/backups
    key = signing_key(settings)
    assert len(key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signing_key(settings) == key
    assert [p.name for p in tmp_path.iterdir() if "secret_key" in p.name] == ["secret_key"]


def test_the_default_key_lives_in_var(tmp_path, monkeypatch):
    monkeypatch.delenv("GOVERNOR_BACKUP_DIR")
    get_settings.cache_clear()
    signing_key(get_settings())
    assert (tmp_path / "var" / "secret_key").is_file()


def test_processes_starting_together_agree_on_one_key(tmp_path):
    settings = get_settings()
    start, keys = threading.Barrier(8), []

    def read() -> None:
        start.wait()
        keys.append(signing_key(settings))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert sorted(p.name for p in tmp_path.iterdir() if "secret_key" in p.name) == ["secret_key"]


def test_a_configured_key_is_used_and_a_short_one_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVERNOR_SECRET_KEY", "k" * 40)
    assert signing_key(WithSecretKey()) == "k" * 40
    assert not (tmp_path / "secret_key").exists()
    monkeypatch.setenv("GOVERNOR_SECRET_KEY", "tooshort-s3cret")
    with pytest.raises(ConfigError, match="shorter than 32 characters") as raised:
        signing_key(WithSecretKey())
    assert "tooshort-s3cret" not in raised.value.message + (raised.value.hint or "")
    monkeypatch.setenv("GOVERNOR_SECRET_KEY", "")
    with pytest.raises(ConfigError):
        signing_key(WithSecretKey())


def test_a_damaged_key_file_is_refused_with_a_way_out(tmp_path):
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(ConfigError) as raised:
        signing_key(get_settings())
    assert "holds no usable key" in raised.value.message
    assert "Delete the file" in (raised.value.hint or "")
