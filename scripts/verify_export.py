"""Verifies a suz export: the manifest's Ed25519 signature, then the events file against it.

    python -m scripts.verify_export export.zip --public-key key.pem
    python -m scripts.verify_export events.jsonl --manifest manifest.json \
        --signature manifest.sig --public-key key.pem

Exit status 0 when the export is intact and signed by the key, 1 otherwise (each problem is
printed). Needs only Python and the `cryptography` package; nothing else of suz.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def read_zip(path: Path) -> tuple[bytes, bytes, bytes]:
    """(events.jsonl, manifest.json, manifest.sig) from an export's zip."""
    with zipfile.ZipFile(path) as z:
        return z.read("events.jsonl"), z.read("manifest.json"), z.read("manifest.sig")


def check(jsonl: bytes, manifest: bytes, signature: bytes, public_key_pem: bytes) -> list[str]:
    """Every problem found; an empty list means the export is intact and signed by the key."""
    key = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(key, Ed25519PublicKey):
        return ["the public key is not an Ed25519 key"]
    try:
        key.verify(base64.b64decode(signature.strip(), validate=True), manifest)
    except (InvalidSignature, ValueError):
        return ["the manifest's signature does not match it: the manifest was changed, "
                "or signed with another key"]  # fmt: skip
    about: dict[str, Any] = json.loads(manifest)
    problems = []
    if hashlib.sha256(jsonl).hexdigest() != about.get("sha256"):
        problems.append("the events file's sha256 differs from the manifest's: it was changed")
    try:
        lines = [json.loads(line) for line in jsonl.splitlines() if line.strip()]
    except ValueError:
        return [*problems, "the events file is not JSON Lines"]
    if len(lines) != about.get("count"):
        problems.append(f"the events file has {len(lines)} events; the manifest says "
                        f"{about.get('count')}")  # fmt: skip
    versions = [line.get("version") for line in lines]
    if lines and (versions[0] != about.get("first_version")
                  or versions[-1] != about.get("last_version")):  # fmt: skip
        problems.append("the events' versions do not span the manifest's range")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.verify_export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("export", type=Path, help="the export's zip, or its events.jsonl")
    parser.add_argument("--manifest", type=Path, help="manifest.json (when not a zip)")
    parser.add_argument("--signature", type=Path, help="manifest.sig (when not a zip)")
    parser.add_argument("--public-key", type=Path, required=True, help="the signer's PEM key")
    args = parser.parse_args(argv)
    try:
        if zipfile.is_zipfile(args.export):
            jsonl, manifest, signature = read_zip(args.export)
        else:
            if args.manifest is None or args.signature is None:
                parser.error("give --manifest and --signature with a JSONL file")
            jsonl = args.export.read_bytes()
            manifest, signature = args.manifest.read_bytes(), args.signature.read_bytes()
        problems = check(jsonl, manifest, signature, args.public_key.read_bytes())
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        print(f"verify_export: cannot read the export: {e}")
        return 1
    for problem in problems:
        print(f"FAILED: {problem}")
    if problems:
        return 1
    about = json.loads(manifest)
    print(f"OK: {about['count']} events, versions {about['first_version']}.."
          f"{about['last_version']}, signed {about['created_at']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
