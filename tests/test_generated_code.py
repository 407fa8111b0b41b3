"""Generated code is produced by `healthcode protos` and must match the protos it came from."""

from __future__ import annotations

from tools import protogen


def test_committed_generated_code_matches_the_protos(tmp_path):
    protogen.copy_sources(tmp_path)

    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in protogen.generate(out=tmp_path, root=tmp_path)}
    committed = {p.relative_to(protogen.PROTO_ROOT): p.read_bytes()
                 for p in protogen._generated_files(protogen.PROTO_ROOT)}

    assert fresh.keys() == committed.keys(), "run `./dev protos`: generated files are missing or extra"
    stale = sorted(str(path) for path in fresh if fresh[path] != committed[path])
    assert not stale, f"run `./dev protos`: stale generated code in {stale}"


def test_every_proto_has_generated_code():
    for proto in protogen.proto_files():
        stem = proto.with_suffix("")
        assert stem.with_name(stem.name + "_pb2.py").exists(), proto
        assert stem.with_name(stem.name + "_pb2_grpc.py").exists(), proto
        assert stem.with_name(stem.name + "_pb2.pyi").exists(), proto
