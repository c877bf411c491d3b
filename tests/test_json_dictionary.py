"""StructuralDictionary: ids, frequencies, serialization, hostile bytes."""

import pytest
from hypothesis import given, settings, strategies as st

from cobol.errors import CobolError, LimitError
from cobol.layers.structural_dictionary import MAX_ENTRIES, StructuralDictionary


def test_ids_counts_and_lookup():
    d = StructuralDictionary()
    assert [d.add(p) for p in (b"id", b"name", b"id", b"", b"id")] == [0, 1, 0, 2, 0]
    assert d.counts.tolist() == [3, 1, 1]
    assert d.id_of(b"name") == 1 and d.id_of(b"nope") is None
    assert d[2] == b"" and b"id" in d and len(d) == 3
    assert d.data.tobytes() == b"idname" and d.offsets.tolist() == [0, 2, 6, 6]


def test_by_frequency_renumbers():
    d = StructuralDictionary()
    for p in (b"a", b"b", b"b", b"c", b"c", b"c"):
        d.add(p)
    f, old_to_new = d.by_frequency()
    assert list(f) == [b"c", b"b", b"a"]
    assert old_to_new.tolist() == [2, 1, 0]
    assert f.counts.tolist() == [3, 2, 1]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=40), unique=True, max_size=300))
def test_serialization_round_trip(entries):
    d = StructuralDictionary(entries)
    e = StructuralDictionary.from_bytes(d.to_bytes())
    assert list(e) == entries
    assert all(e.id_of(p) == i for i, p in enumerate(entries))


def test_capacity_is_65536():
    d = StructuralDictionary([i.to_bytes(3, "little") for i in range(MAX_ENTRIES)])
    assert len(d) == MAX_ENTRIES
    with pytest.raises(LimitError):
        d.add(b"one more")
    assert len(StructuralDictionary.from_bytes(d.to_bytes())) == MAX_ENTRIES


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_hostile_bytes_raise_cobol_errors(blob):
    try:
        StructuralDictionary.from_bytes(blob)
    except CobolError:
        pass


def test_duplicates_and_truncation_are_format_errors():
    good = StructuralDictionary([b"ab", b"cd"]).to_bytes()
    with pytest.raises(CobolError):
        StructuralDictionary.from_bytes(good[:-1])
    with pytest.raises(CobolError):
        StructuralDictionary.from_bytes(StructuralDictionary([b"ab", b"cd"]).to_bytes().replace(b"cd", b"ab"))
    with pytest.raises(CobolError):
        StructuralDictionary.from_bytes(b"\xff\xff\xff\xff\x0f")
