"""Write src/cobol/warmup.cobl: one small frame per decoder that has kernels.

``cobol serve`` decodes this file before it listens (cobol.warmup), so the
decoders' Numba kernels are loaded (from the cache, or compiled once) before
the first transfer instead of during it. Each frame is a 16-64 KiB slice of a
bundled sample coded at level 3 with the transform
forced. Rerun after a change to a transform's decoder kernels:

    PYTHONPATH=src python bench/make_warmup_frames.py
"""

from __future__ import annotations

import pathlib

import cobol

REPO = pathlib.Path(__file__).resolve().parents[1]
S = REPO / "samples"
CASES = [  # (sample, plan, compress kwargs)
    ("json/iso-codes-639-3.json", "json", {}),
    ("jsonl/vega-flights-200k.jsonl", "json", {}),
    ("csv/vega-seattle-weather-hourly-normals.csv", "csv", {}),
    ("csv/vega-birdstrikes.csv", "csv", {}),
    ("xml/freedesktop-shared-mime-info.xml", "xml", {}),
    ("html/python311-doc-library-abc.html", "html", {}),
    ("text/debian-policy.txt", "l1", {}),
    ("log/local-dpkg.log", "log", {}),
    ("log/irclog2html-dircproxy-example.log", "log", {}),
    ("numeric/vega-flights-200k-delay.i32", "numeric", {"dtype": "int32"}),
    ("numeric/vega-zipcodes-latitude.f64", "numeric", {"dtype": "float64"}),
    ("numeric/vega-flights-20k-date-unix.i64", "numeric", {"dtype": "int64"}),
]


def main() -> None:
    frames = []
    for name, plan, kw in CASES:
        for size in (16384, 32768, 65536):  # the smallest slice the transform is kept on
            frame = cobol.compress((S / name).read_bytes()[:size], 3, plan=plan, **kw)
            if cobol.frame_info(frame).plans.get(plan):
                break
        else:
            raise SystemExit(f"{name}: {plan} not kept on 64 KiB")
        frames.append(frame)
    out = REPO / "src" / "cobol" / "warmup.cobl"
    out.write_bytes(b"".join(frames))
    print(f"{out}: {len(frames)} frames, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
