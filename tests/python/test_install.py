"""The package installs the prebuilt lab extension where JupyterLab finds it, enabled and OK."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import intershap_widget

REPO = Path(__file__).resolve().parents[2]


def _jupyter() -> str:
    local = Path(sys.executable).with_name("jupyter")
    return str(local) if local.exists() else (shutil.which("jupyter") or "jupyter")


def test_labextension_is_listed_enabled_and_ok() -> None:
    listing = subprocess.run(
        [_jupyter(), "labextension", "list"], capture_output=True, text=True, check=True
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", listing.stdout + listing.stderr)
    version = intershap_widget.__version__
    assert re.search(rf"intershap-widget v{re.escape(version)}\s+enabled\s+OK", text), text


def test_python_and_javascript_versions_agree() -> None:
    package = json.loads((REPO / "package.json").read_text())
    assert package["version"] == intershap_widget.__version__
    version_ts = (REPO / "src" / "version.ts").read_text()
    assert f"MODULE_VERSION = '{intershap_widget.__version__}'" in version_ts
