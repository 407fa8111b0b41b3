"""The one command that generates Python code (messages, stubs, type stubs) from protos/."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent.parent / "protos"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def proto_files(root: Path = PROTO_ROOT) -> list[Path]:
    return sorted(root.glob("healthcode/**/*.proto"))


def generate(out: Path = PROTO_ROOT, root: Path = PROTO_ROOT) -> list[Path]:
    """Writes generated modules next to each .proto's package path under `out`.

    The proto root doubles as the Python import root (`healthcode.identity.v1`),
    so the generated imports need no rewriting.
    """
    from grpc_tools import protoc

    well_known = resources.files("grpc_tools") / "_proto"
    # googleapis-common-protos ships google/type/*.proto beside its Python modules.
    import google.type.date_pb2 as date_module
    googleapis_root = Path(date_module.__file__).resolve().parents[2]
    files = proto_files(root)
    for stale in _generated_files(out):
        stale.unlink()
    args = ["grpc_tools.protoc", f"-I{root}", f"-I{well_known}", f"-I{googleapis_root}",
            f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}",
            *(str(f.relative_to(root)) for f in files)]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed; see the messages above")
    for package_dir in {out / f.relative_to(root).parent for f in files}:
        for directory in [package_dir, *package_dir.parents]:
            if directory == out or out not in directory.parents:
                break
            (directory / "__init__.py").touch()
    return _generated_files(out)


def _generated_files(out: Path) -> list[Path]:
    return sorted(p for p in out.glob("healthcode/**/*") if p.name.endswith(GENERATED_SUFFIXES))


def copy_sources(destination: Path) -> None:
    """Copies the .proto tree, so a check can generate into a scratch directory."""
    shutil.copytree(PROTO_ROOT / "healthcode", destination / "healthcode",
                    ignore=shutil.ignore_patterns("*.py", "*.pyi", "__pycache__"))
