"""Importing the settings changes nothing; the entry points apply the offline defaults."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from paperqa.settings import OFFLINE_DEFAULTS, apply_offline_defaults


def test_importing_the_package_leaves_the_environment_as_it_was() -> None:
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_DEFAULTS}
    names = list(OFFLINE_DEFAULTS)
    code = f"import os, paperqa.api, paperqa.cli; print(sorted(set(os.environ) & set({names!r})))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_offline_defaults_fill_what_the_environment_leaves_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OFFLINE_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "True")  # the user's choice stands
    apply_offline_defaults()
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["GRADIO_ANALYTICS_ENABLED"] == "True"
