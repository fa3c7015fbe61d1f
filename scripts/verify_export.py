"""Verifies a suz export: the manifest's Ed25519 signature, then the events file against it;
and, with --seals, a kept copy of the desk's seals: their signatures and order, and each seal
whose log positions a period export holds, against that export's events.

    python -m scripts.verify_export export.zip --public-key key.pem
    python -m scripts.verify_export events.jsonl --manifest manifest.json \
        --signature manifest.sig --public-key key.pem
    python -m scripts.verify_export period.zip --seals suz-seals.jsonl --public-key key.pem
    python -m scripts.verify_export --seals suz-seals.jsonl --public-key key.pem

Seals come from `GET /api/v1/audit/seals?format=jsonl`. A seal is checked against an export
when the export holds events on both sides of the seal's positions (or its digest matches);
the seals at the export's edges are reported as outside it. Exit status 0 when everything
checked is intact and signed by the key, 1 otherwise (each problem is printed). Reads the
events file line by line, so any size verifies in flat memory. Needs only Python and the
`cryptography` package; nothing else of suz.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = "0" * 64
SEAL_FIELDS = ("format", "number", "after", "position", "events", "digest", "previous",
               "sealed_at")  # fmt: skip


def read_zip(path: Path) -> tuple[bytes, bytes, bytes]:
    """(events.jsonl, manifest.json, manifest.sig) from an export's zip."""
    with zipfile.ZipFile(path) as z:
        return z.read("events.jsonl"), z.read("manifest.json"), z.read("manifest.sig")


def _key(public_key_pem: bytes) -> Ed25519PublicKey | None:
    key = serialization.load_pem_public_key(public_key_pem)
    return key if isinstance(key, Ed25519PublicKey) else None


def _signed(key: Ed25519PublicKey, signature: bytes | str, body: bytes) -> bool:
    try:
        key.verify(base64.b64decode(signature.strip(), validate=True), body)
    except (InvalidSignature, ValueError):
        return False
    return True


# -- seals --------------------------------------------------------------------------------------
def seal_body(seal: dict[str, Any]) -> bytes:
    """The canonical bytes a seal's signature covers."""
    return json.dumps({k: seal[k] for k in SEAL_FIELDS}, sort_keys=True,
                      separators=(",", ":")).encode()  # fmt: skip


def seal_line(line: dict[str, Any]) -> bytes:
    """What a seal's digest takes of one exported event (the state's bytes as stored; for an
    event whose secrets the export redacted, the stored bytes' sha256 it gives instead)."""
    if "redacted" in line:
        state = str(line["state_sha256"])
    else:
        state = hashlib.sha256(str(line["state"]).encode()).hexdigest()
    return (f"{line['position']} {line['aggregate_id']} {line['version']} {line['topic']} "
            f"{state}\n").encode()  # fmt: skip


def check_seal_list(seals: list[dict[str, Any]], key: Ed25519PublicKey) -> list[str]:
    """Signatures, and each seal following the one before it."""
    problems, before = [], None
    for seal in seals:
        name = f"seal {seal['number']} (log positions {seal['after'] + 1}..{seal['position']})"
        if not _signed(key, seal.get("signature", ""), seal_body(seal)):
            problems.append(f"{name}: the signature does not match the seal or the key")
        if before is None:
            if seal["number"] == 1 and (seal["after"], seal["previous"]) != (0, GENESIS):
                problems.append(f"{name}: the first seal does not start at the log's beginning")
        elif seal["number"] != before["number"] + 1:
            problems.append(f"{name}: seals {before['number'] + 1}..{seal['number'] - 1} "
                            "are missing from the copy")  # fmt: skip
        elif (seal["after"], seal["previous"]) != (before["position"], before["digest"]):
            problems.append(f"{name}: does not continue seal {before['number']}")
        before = seal
    return problems


class SealRanges:
    """Folds an export's events, in log order, into the digests of the seals they fall under."""

    def __init__(self, seals: list[dict[str, Any]]) -> None:
        self.seals = sorted(seals, key=lambda s: s["position"])
        self.hashes = [hashlib.sha256(bytes.fromhex(s["previous"])) for s in self.seals]
        self.counts = [0] * len(self.seals)
        self.first: int | None = None
        self.last: int | None = None
        self._at = 0

    def add(self, line: dict[str, Any]) -> None:
        position = int(line["position"])
        self.first = position if self.first is None else self.first
        self.last = position
        while self._at < len(self.seals) and self.seals[self._at]["position"] < position:
            self._at += 1
        if self._at < len(self.seals) and self.seals[self._at]["after"] < position:
            self.hashes[self._at].update(seal_line(line))
            self.counts[self._at] += 1

    def results(self) -> tuple[int, int, list[str]]:
        """(seals matched, seals outside the export, problems)."""
        matched, outside, problems = 0, 0, []
        for seal, digest, count in zip(self.seals, self.hashes, self.counts, strict=True):
            if digest.hexdigest() == seal["digest"]:
                matched += 1
            elif (self.first is None or self.last is None or self.first > seal["after"]
                  or self.last <= seal["position"]):  # fmt: skip
                outside += 1
            else:
                problems.append(
                    f"seal {seal['number']}: log positions {seal['after'] + 1}.."
                    f"{seal['position']} do not match it ({count} events in the export, "
                    f"{seal['events']} when sealed): events there were deleted, changed or "
                    "inserted"
                )
        return matched, outside, problems


def read_seals(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines()
    return sorted((json.loads(line) for line in lines if line.strip()), key=lambda s: s["number"])


# -- exports ------------------------------------------------------------------------------------
def check(
    jsonl: bytes,
    manifest: bytes,
    signature: bytes,
    public_key_pem: bytes,
    seals: list[dict[str, Any]] | None = None,
) -> list[str]:
    """Every problem found; an empty list means the export is intact and signed by the key."""
    return check_lines(io.BytesIO(jsonl), manifest, signature, public_key_pem, seals)[0]


def check_lines(
    lines: Iterable[bytes],
    manifest: bytes,
    signature: bytes,
    public_key_pem: bytes,
    seals: list[dict[str, Any]] | None = None,
) -> tuple[list[str], str]:
    """(problems, what was checked) for the events file given line by line."""
    key = _key(public_key_pem)
    if key is None:
        return ["the public key is not an Ed25519 key"], ""
    if not _signed(key, signature, manifest):
        return ["the manifest's signature does not match it: the manifest was changed, "
                "or signed with another key"], ""  # fmt: skip
    about: dict[str, Any] = json.loads(manifest)
    problems = check_seal_list(seals, key) if seals is not None else []
    ranges = SealRanges(seals) if seals is not None else None
    digest, count, readable = hashlib.sha256(), 0, True
    versions: list[Any] = []  # the first and the last event's
    for raw in lines:
        digest.update(raw)
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            readable = False
            continue
        count += 1
        versions = [versions[0] if versions else line.get("version"), line.get("version")]
        if ranges is not None and readable:
            if "position" not in line:
                return [*problems, "seals are checked against a period export: this export "
                        "has no log positions"], ""  # fmt: skip
            ranges.add(line)
    if digest.hexdigest() != about.get("sha256"):
        problems.append("the events file's sha256 differs from the manifest's: it was changed")
    if not readable:
        return [*problems, "the events file is not JSON Lines"], ""
    if count != about.get("count"):
        problems.append(f"the events file has {count} events; the manifest says "
                        f"{about.get('count')}")  # fmt: skip
    if versions and versions != [about.get("first_version"), about.get("last_version")]:
        problems.append("the events' versions do not span the manifest's range")
    summary = f"{count} events, versions {about.get('first_version')}.." \
              f"{about.get('last_version')}, signed {about.get('created_at')}"  # fmt: skip
    if ranges is not None:
        matched, outside, mismatched = ranges.results()
        problems += mismatched
        summary += f"; seals: {matched} match, {outside} outside this export"
    return problems, summary


@contextmanager
def _events(path: Path) -> Iterator[Iterable[bytes]]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z, z.open("events.jsonl") as f:
            yield f
    else:
        with path.open("rb") as f:
            yield f


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.verify_export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("export", type=Path, nargs="?", help="the export's zip, or its JSONL")
    parser.add_argument("--manifest", type=Path, help="manifest.json (when not a zip)")
    parser.add_argument("--signature", type=Path, help="manifest.sig (when not a zip)")
    parser.add_argument("--public-key", type=Path, required=True, help="the signer's PEM key")
    parser.add_argument("--seals", type=Path, help="a kept copy of the seals (JSON Lines)")
    args = parser.parse_args(argv)
    if args.export is None and args.seals is None:
        parser.error("give an export, --seals, or both")
    try:
        pem = args.public_key.read_bytes()
        seals = read_seals(args.seals) if args.seals else None
        if args.export is None:
            key = _key(pem)
            if key is None:
                problems = ["the public key is not an Ed25519 key"]
            else:
                problems = check_seal_list(seals or [], key)
            summary = f"{len(seals or [])} seals, signed and in order"
        else:
            if zipfile.is_zipfile(args.export):
                with zipfile.ZipFile(args.export) as z:
                    manifest, signature = z.read("manifest.json"), z.read("manifest.sig")
            elif args.manifest is None or args.signature is None:
                parser.error("give --manifest and --signature with a JSONL file")
            else:
                manifest, signature = args.manifest.read_bytes(), args.signature.read_bytes()
            with _events(args.export) as lines:
                problems, summary = check_lines(lines, manifest, signature, pem, seals)
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile) as e:
        print(f"verify_export: cannot read the export or the seals: {e}")
        return 1
    for problem in problems:
        print(f"FAILED: {problem}")
    if problems:
        return 1
    print(f"OK: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
