"""The committed offline bundle (gateway/pages/static/offline.js) is what its sources and the locked
packages build, as the generated protobuf code is checked against its .proto files."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

PAGES = Path(__file__).resolve().parents[2] / "gateway" / "pages"
ESBUILD = PAGES / "node_modules" / ".bin" / "esbuild"


@pytest.mark.skipif(not (shutil.which("node") and ESBUILD.exists()),
                    reason="./dev installs the page's packages where npm is present")
def test_the_committed_bundle_is_what_the_sources_build(tmp_path):
    command = shlex.split(json.loads((PAGES / "package.json").read_text())["scripts"]["build"])
    assert command[0] == "esbuild"
    built = tmp_path / "offline.js"
    arguments = [f"--outfile={built}" if part.startswith("--outfile=") else part for part in command[1:]]
    subprocess.run([str(ESBUILD), *arguments], cwd=PAGES, check=True, capture_output=True, timeout=120)
    assert built.read_bytes() == (PAGES / "static" / "offline.js").read_bytes(), \
        "gateway/pages/static/offline.js is stale: run ./dev test (or npm run build in gateway/pages) and commit it"
