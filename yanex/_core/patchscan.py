"""Checks of a captured git patch: potential secrets (with ``detect-secrets``) and size.

``detect-secrets`` (and the ``unidiff`` parser its diff scan uses) is imported only when a
patch exists, here. A patch's findings depend on its bytes only, so they are kept per
process and in ``<store>/.cache/patch-scans/`` (keyed by the patch's SHA-256): running the
same uncommitted change again does not pay for the scan a second time.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

LARGE_PATCH_BYTES = 1024 * 1024
CACHE_DIR = ".cache/patch-scans"


@dataclass
class Finding:
    type: str
    filename: str
    line: int


@dataclass
class PatchReport:
    size_bytes: int
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None  # why the scan could not run

    def metadata(self) -> dict[str, Any]:
        """The fields of metadata.json's ``git`` block."""
        out: dict[str, Any] = {
            "patch_has_secrets": bool(self.findings) if self.error is None else None,
            "patch_secret_count": len(self.findings) if self.error is None else None,
            "patch_size_bytes": self.size_bytes,
            "patch_size_mb": round(self.size_bytes / (1024 * 1024), 6),
        }
        if self.error is not None:
            out["patch_scan_error"] = self.error
        return out


_memo: dict[str, PatchReport] = {}
_warned: set[str] = set()


def check(patch: bytes, store_root: Path | None = None) -> PatchReport:
    """Scan ``patch`` (cached), and warn on stderr once per process about what it holds."""
    key = hashlib.sha256(patch).hexdigest()
    report = _memo.get(key) or _cached(key, store_root)
    if report is None:
        report = scan(patch)
        _save(key, report, store_root)
    _memo[key] = report
    if key not in _warned:
        _warned.add(key)
        _warn(report)
    return report


def scan(patch: bytes) -> PatchReport:
    """Every potential secret on the lines ``patch`` adds, with its file and line number
    in the changed file."""
    report = PatchReport(size_bytes=len(patch))
    try:
        from detect_secrets.core.scan import scan_diff
        from detect_secrets.settings import default_settings
    except ImportError as exc:
        report.error = f"detect-secrets is not installed ({exc}): pip install detect-secrets"
        return report
    try:
        with default_settings():
            found = list(scan_diff(_text_only(patch)))
    except Exception as exc:  # noqa: BLE001  a patch unidiff cannot parse must not stop a run
        report.error = f"{type(exc).__name__}: {exc}"
        return report
    report.findings = [Finding(s.type, s.filename, int(s.line_number)) for s in found]
    return report


def _text_only(patch: bytes) -> str:
    """The patch without its ``GIT binary patch`` sections, which the diff parser rejects."""
    out: list[str] = []
    skipping = False
    for line in patch.decode("utf-8", errors="replace").splitlines(keepends=True):
        if line.startswith("diff --git "):
            skipping = False
        elif line.startswith("GIT binary patch"):
            skipping = True
        if not skipping:
            out.append(line)
    return "".join(out)


def _warn(report: PatchReport) -> None:
    lines = []
    if report.error is not None:
        lines.append(f"Warning: could not scan the git patch for secrets: {report.error}")
    if report.findings:
        lines.append(
            "Warning: potential secrets detected in the git patch! "
            f"Found {len(report.findings)} potential secret(s):"
        )
        lines += [f"  - {f.type} in {f.filename} at line {f.line}" for f in report.findings]
        lines.append("  Review artifacts/git_diff.patch before sharing this experiment.")
    if report.size_bytes > LARGE_PATCH_BYTES:
        mb = report.size_bytes / (1024 * 1024)
        lines.append(f"Warning: the git patch is large ({mb:.1f} MB); consider committing.")
    if lines:
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()


def _cache_file(key: str, store_root: Path | None) -> Path | None:
    return store_root / CACHE_DIR / f"{key}.json" if store_root is not None else None


def _cached(key: str, store_root: Path | None) -> PatchReport | None:
    path = _cache_file(key, store_root)
    if path is None:
        return None
    import json

    try:
        raw = json.loads(path.read_bytes())
        findings = [Finding(**f) for f in raw["findings"]]
        return PatchReport(size_bytes=int(raw["size_bytes"]), findings=findings)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save(key: str, report: PatchReport, store_root: Path | None) -> None:
    path = _cache_file(key, store_root)
    if path is None or report.error is not None:
        return
    import json

    from yanex._store import fs

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fs.atomic_write(path, json.dumps(asdict(report)).encode(), fsync=False)
    except OSError:
        pass  # only a cache
