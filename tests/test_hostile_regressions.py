"""Hostile inputs that once crashed a decoder kernel (segfault / bus error).

Each runs in a child process, so a regression shows as a failed test, not a
dead test runner.
"""

import subprocess
import sys
import textwrap

import pytest

CASES = {
    # an end-tag skeleton with NUL value slots walked the kernel past hole_group
    "markup_end_tag_with_value_slots": """
        from cobol.layers.l2_markup import MarkupDecoder
        from cobol.layers.structural_dictionary import StructuralDictionary
        from cobol.format.wire import put_varint, put_bytes
        p = bytearray([0]); put_varint(p, 0); put_bytes(p, b"")
        for _ in range(7):
            put_varint(p, 0)
        sk = StructuralDictionary([b"</a" + b"\\x00" * 2000 + b">"]).to_bytes()
        MarkupDecoder().decode([bytes([16]), sk, b"", b"", b"x\\x00" * 10], bytes(p), 4000)
    """,
    # string lengths whose int64 sum wraps back to the text length
    "csv_string_lengths_wrapping_int64": """
        import numpy as np
        from cobol.layers import csv_columns as cc
        from cobol.format.wire import Reader, put_varint
        raw = b"abcd"
        lens = np.array([2**63 - 1, 2**63 - 1, len(raw) + 2], np.int64)
        params = bytearray([cc.DICT]); put_varint(params, 3)
        params += bytes([cc.STR, cc.STR_LENGTHS])
        src = cc.StreamSource(Reader(bytes(params), what="p"), [cc.encode_ints(lens), raw, bytes([0, 1, 2])])
        cc.decode_column(src, 3, 100)
    """,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_case_is_a_cobol_error(name):
    code = "from cobol.errors import CobolError\ntry:\n" + textwrap.indent(textwrap.dedent(CASES[name]), "    ") + \
        "\nexcept CobolError as e:\n    print('COBOL-ERROR', type(e).__name__)\nelse:\n    print('NO-ERROR')\n"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"child died with {r.returncode}: {r.stderr[-2000:]}"
    assert "COBOL-ERROR" in r.stdout, r.stdout + r.stderr[-2000:]
