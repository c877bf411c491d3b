"""Issue 15, start-up: ``import cobol`` and ``cobol --help`` load no NumPy or
Numba, and a run imports only the transforms (and kernels) its blocks use.

Imports are checked in fresh interpreters (subprocesses): this test process has
long since imported everything. Times are measured by bench/bench_startup.py,
not asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import cobol
from cobol import registry
from cobol.plan import TINY_BLOCK, choose_plan, skips_transforms
from cobol.registry import EncodeContext, Transform

SRC = os.path.dirname(os.path.dirname(os.path.abspath(cobol.__file__)))


def _python(code: str) -> str:
    """Run ``code`` in a fresh interpreter on this checkout; its stdout."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


_HEAVY = "sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'numba', 'fsspec', 'zstandard'))"


def test_import_cobol_loads_no_numba():
    assert _python("import cobol, sys; print('numba' in sys.modules)") == "False"


def test_import_cobol_loads_no_numpy_fsspec_or_engine():
    out = json.loads(_python(f"import cobol, sys, json; print(json.dumps([{_HEAVY}, 'cobol.engine' in sys.modules]))"))
    assert out == [[], False]


@pytest.mark.parametrize("flag", ["--help", "-V", "--version"])
def test_cli_help_and_version_import_no_numpy(flag):
    code = (
        "import sys, json, contextlib, io\n"
        "from cobol.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    try:\n        main([{flag!r}])\n    except SystemExit as e:\n        code = e.code\n"
        f"print(json.dumps([code, 'cobol' in out.getvalue(), {_HEAVY}, 'cobol.engine' in sys.modules]))"
    )
    assert json.loads(_python(code)) == [0, True, [], False]


def test_public_api_still_there():
    code = ("import cobol; b = cobol.compress(b'x' * 100); "
            "print(cobol.decompress(b) == b'x' * 100, cobol.CobolEngine.__name__, cobol.open.__module__, "
            "cobol.frame_info(b).blocks, cobol.DEFAULT_LEVEL)")
    assert _python(code) == "True CobolEngine cobol.fileobj 1 3"
    for name in cobol.__all__:
        assert getattr(cobol, name) is not None, name
    assert set(cobol.__all__) <= set(dir(cobol))


def test_tiny_file_round_trip_loads_no_numba():
    code = ("import cobol, sys; d = b'{\"id\": 1, \"name\": \"x\"}\\n' * 40; b = cobol.compress(d); "
            "print(cobol.decompress(b) == d, len(d) < 2048, 'numba' in sys.modules)")
    assert _python(code) == "True True False"


def test_tiny_text_file_round_trip_loads_no_numpy():
    """A text block under plan.TINY_BLOCK is coded raw: compress, decompress and
    the streaming decoder the CLI uses (raw blocks hand back their stream) run
    without NumPy, about half of such a run's start-up."""
    code = ("import cobol, sys, io; d = b'{\"id\": 1, \"name\": \"x\"}\\n' * 40; b = cobol.compress(d); "
            "out = io.BytesIO(); cobol.CobolEngine().decompress_stream(io.BytesIO(b), out); "
            "print(cobol.decompress(b) == d, out.getvalue() == d, 'numpy' in sys.modules)")
    assert _python(code) == "True True False"


def test_a_run_imports_only_its_transforms():
    code = ("import cobol, sys; d = b'{\"id\": 1, \"name\": \"x\"}\\n' * 400; b = cobol.compress(d); "
            "assert cobol.decompress(b) == d; "
            "print(sorted(m for m in sys.modules if m.startswith('cobol.layers.') and '.' not in m[13:]))")
    loaded = _python(code)
    assert "cobol.layers.l2_json" in loaded and "cobol.layers.json_dict" in loaded
    for other in ("l2_csv", "l2_markup", "numeric", "l1_semantic"):
        assert f"cobol.layers.{other}'" not in loaded, loaded


def test_fsspec_registered_when_imported_after_cobol():
    pytest.importorskip("fsspec")
    code = ("import sys, cobol; before = 'fsspec' in sys.modules; import fsspec; "
            "from fsspec.compression import compr; from fsspec.utils import compressions; "
            "print(before, 'cobol' in compr, compressions.get('cobl'))")
    assert _python(code) == "False True cobol"
    assert _python("import fsspec, cobol; from fsspec.compression import compr; print('cobol' in compr)") == "True"


def _trial_names(data: bytes, fmt: str, **kw) -> list:
    ctx = EncodeContext(level=3, fmt=fmt, **kw)
    return [t[0] for t in choose_plan(data, ctx).trials]


def test_tiny_blocks_skip_transforms_and_larger_ones_try_them():
    line = b'{"id": 12, "name": "abc", "ok": true}\n'
    small = (line * 100)[:TINY_BLOCK - 1]
    big = (line * 100)[:TINY_BLOCK]
    assert _trial_names(small, "jsonl") == ["raw"]
    assert "json" in _trial_names(big, "jsonl")
    # numeric arrays gain at any size: never skipped
    assert "numeric" in _trial_names(bytes(range(256)) * 2, "numeric", hints={"dtype": "uint8"})
    # with a shared dictionary small messages are the point: never skipped
    assert not skips_transforms(small, EncodeContext(level=3, fmt="jsonl", dictionary=object()))
    assert skips_transforms(small, EncodeContext(level=3, fmt="jsonl"))


def test_declared_transforms_match_their_classes():
    by_id = {t.id: t for t in registry.all_transforms()}
    for tid, name, module, formats in registry.BUILTIN_TRANSFORMS:
        t = by_id[tid]
        assert (t.name, tuple(t.formats)) == (name, formats)
        assert (type(t).__module__ + ".").startswith(module + "."), (tid, module)


def test_register_refuses_a_class_that_drifted_from_its_declaration():
    registry.declare_transform(250, "drift-test", "tests.nowhere", ("json",))
    try:
        class Drifted(Transform):
            id = 250
            name = "drift-test"
            formats = ("csv",)

            def encode(self, data, ctx):
                return None

            def decode(self, streams, params, raw_len, ctx):
                return b""

        with pytest.raises(ValueError, match="declared"):
            registry.register_transform(Drifted)
        with pytest.raises(ValueError, match="already declared"):
            registry.declare_transform(250, "drift-test", "tests.elsewhere", ("json",))
    finally:
        registry._DECLARED.pop(250, None)
    assert 250 not in registry._TRANSFORMS


def test_grep_for_an_absent_string_in_log_blocks_loads_no_numpy(tmp_path):
    """A fixed string no template, raw line or variable skeleton can hold rules
    every log block out from its entropy-decoded streams (cobol.logskip)."""
    data = b"".join(b"2026-05-09 10:%02d:%02d status installed pkg%d:amd64 1.%d-%d\n" % (i // 60 % 60, i % 60, i % 97, i, i % 7)
                    for i in range(3000))
    path = tmp_path / "dpkg.cobl"
    path.write_bytes(cobol.compress(data))
    code = (f"import cobol, sys, json; p = {str(path)!r}\n"
            "absent = cobol.grep(b'qzxjv_not_here', p, fixed=True).count\n"
            f"print(json.dumps([absent, 'cobol.logskip' in sys.modules, {_HEAVY}]))")
    absent, log_path, heavy = json.loads(_python(code))
    assert (absent, log_path) == (0, True)  # the log transform's path was taken
    assert [m for m in heavy if m.startswith(("numpy", "numba"))] == []
    assert cobol.grep(b"pkg13:amd64 1.13-6", str(path), fixed=True).count == 1
