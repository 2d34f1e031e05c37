"""The artifact format registry: how each file extension is saved and loaded.

Heavy libraries (numpy, pandas, torch, matplotlib, PIL) are imported only inside the saver
or loader that needs them, with an ImportError that says what to install. Artifact names are
checked, and symbolic links on the way refused (``trust.confined``), so that nothing is ever
written or read outside the artifacts directory. ``.pt``/``.pth`` files load with
``weights_only=True``; ``.pkl`` files unpickle (which runs code) and warn when they come from
outside the current experiment's lineage (``trust.warn_untrusted_pickle``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from yanex._store import fs

from . import trust

Saver = Callable[[Any, Path], None]
Loader = Callable[[Path], Any]


def _need(module: str, purpose: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".", maxsplit=1)[0]
        package = {"PIL": "Pillow"}.get(top, top)
        raise ImportError(f"{purpose} needs {package}: pip install {package}") from exc


def safe_name(filename: str | os.PathLike[str]) -> str:
    """A relative artifact name that stays inside the artifacts directory, or ValueError."""
    name = os.fspath(filename)
    if not name or name.strip() == "":
        raise ValueError("artifact filename must not be empty")
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or ".." in path.parts:
        raise ValueError(f"artifact filename must stay inside the artifacts directory: {name!r}")
    return str(path)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fs.atomic_write(path, data, fsync=False)


# --- savers -------------------------------------------------------------------------------


def _save_txt(obj: Any, path: Path) -> None:
    if not isinstance(obj, str):
        raise TypeError(f".txt artifacts take a str, not {type(obj).__name__}")
    _write(path, obj.encode())


def _save_json(obj: Any, path: Path) -> None:
    try:
        text = json.dumps(obj, indent=2, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise TypeError(f".json artifact is not JSON-serialisable: {exc}") from exc
    _write(path, text.encode())


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def _save_jsonl(obj: Any, path: Path) -> None:
    if not isinstance(obj, list) or not all(isinstance(r, dict) for r in obj):
        raise TypeError(f".jsonl artifacts take a list of dicts, not {type(obj).__name__}")
    lines = [json.dumps(r, default=_json_default) for r in obj]
    _write(path, ("\n".join(lines) + "\n" if lines else "").encode())


def _is_dataframe(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "to_csv")


def _save_csv(obj: Any, path: Path) -> None:
    if _is_dataframe(obj):
        _write(path, obj.to_csv(index=False).encode())
        return
    if not isinstance(obj, list) or not all(isinstance(r, dict) for r in obj):
        raise TypeError(
            f".csv artifacts take a pandas DataFrame or a list of dicts, not {type(obj).__name__}"
        )
    fields: dict[str, None] = {}
    for row in obj:
        fields.update(dict.fromkeys(row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(fields))
    writer.writeheader()
    writer.writerows(obj)
    _write(path, buf.getvalue().encode())


def _save_npy(obj: Any, path: Path) -> None:
    np = _need("numpy", "saving .npy artifacts")
    if not isinstance(obj, np.ndarray):
        raise TypeError(f".npy artifacts take a numpy array, not {type(obj).__name__}")
    buf = io.BytesIO()
    np.save(buf, obj, allow_pickle=False)
    _write(path, buf.getvalue())


def _save_npz(obj: Any, path: Path) -> None:
    np = _need("numpy", "saving .npz artifacts")
    if not isinstance(obj, dict):
        raise TypeError(f".npz artifacts take a dict of numpy arrays, not {type(obj).__name__}")
    buf = io.BytesIO()
    np.savez(buf, **obj)
    _write(path, buf.getvalue())


def _save_torch(obj: Any, path: Path) -> None:
    torch = _need("torch", "saving .pt/.pth artifacts")
    buf = io.BytesIO()
    torch.save(obj, buf)
    _write(path, buf.getvalue())


def _save_pickle(obj: Any, path: Path) -> None:
    _write(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def _save_png(obj: Any, path: Path) -> None:
    buf = io.BytesIO()
    if hasattr(obj, "savefig"):  # a matplotlib Figure
        obj.savefig(buf, format="png", bbox_inches="tight")
    elif type(obj).__module__.startswith("PIL.") and hasattr(obj, "save"):
        obj.save(buf, format="PNG")
    else:
        raise TypeError(
            f".png artifacts take a matplotlib Figure or a PIL Image, not {type(obj).__name__}"
        )
    _write(path, buf.getvalue())


# --- loaders ------------------------------------------------------------------------------


def _load_txt(path: Path) -> Any:
    return path.read_text(encoding="utf-8")


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _load_jsonl(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _load_csv(path: Path) -> Any:
    try:
        import pandas as pd
    except ImportError:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    return pd.read_csv(path)


def _load_npy(path: Path) -> Any:
    return _need("numpy", "loading .npy artifacts").load(path, allow_pickle=False)


def _load_npz(path: Path) -> Any:
    np = _need("numpy", "loading .npz artifacts")
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _load_torch(path: Path) -> Any:
    """Tensors, plain containers and numbers only (no code runs); a custom loader may do more."""
    torch = _need("torch", "loading .pt/.pth artifacts")
    try:
        return torch.load(path, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise pickle.UnpicklingError(
            f"{path.name} holds more than tensors and plain containers, so it was not loaded "
            "(torch.load with weights_only=True). If you trust the experiment it comes from, "
            "pass loader=lambda p: torch.load(p, weights_only=False), which can run code"
        ) from exc


def _load_pickle(path: Path) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def _load_png(path: Path) -> Any:
    image = _need("PIL.Image", "loading .png artifacts")
    with image.open(path) as img:
        img.load()
        return img.copy()


FORMATS: dict[str, tuple[Saver, Loader]] = {
    ".txt": (_save_txt, _load_txt),
    ".csv": (_save_csv, _load_csv),
    ".json": (_save_json, _load_json),
    ".jsonl": (_save_jsonl, _load_jsonl),
    ".npy": (_save_npy, _load_npy),
    ".npz": (_save_npz, _load_npz),
    ".pt": (_save_torch, _load_torch),
    ".pth": (_save_torch, _load_torch),
    ".pkl": (_save_pickle, _load_pickle),
    ".png": (_save_png, _load_png),
}


def _format(filename: str) -> tuple[Saver, Loader] | None:
    return FORMATS.get(PurePosixPath(filename).suffix.lower())


def save(obj: Any, artifacts_dir: Path, filename: str, saver: Saver | None = None) -> Path:
    """Save ``obj`` as ``artifacts_dir/filename`` by extension, or with ``saver``."""
    name = safe_name(filename)
    path = trust.confined(artifacts_dir, name, "write")
    if saver is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        saver(obj, path)
        return path
    fmt = _format(name)
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(
            f"cannot tell the format of {name!r} from its extension (known: {known}); "
            "pass saver=..."
        )
    fmt[0](obj, path)
    return path


def load(artifacts_dir: Path, filename: str, loader: Loader | None = None) -> Any:
    """Load ``artifacts_dir/filename`` by extension or with ``loader``; None when missing."""
    name = safe_name(filename)
    path = artifacts_dir / name
    if not path.is_file():
        return None
    path = trust.confined(artifacts_dir, name, "read")
    if loader is not None:
        return loader(path)
    fmt = _format(path.name)
    if fmt is None:
        raise ValueError(f"cannot tell the format of {filename!r}; pass loader=...")
    if fmt[1] is _load_pickle:
        trust.warn_untrusted_pickle(artifacts_dir, name)
    return fmt[1](path)


def copy(src: str | os.PathLike[str], artifacts_dir: Path, filename: str | None = None) -> Path:
    source = Path(src)
    if source.is_dir():
        raise IsADirectoryError(
            f"cannot copy {source} as an artifact: it is a directory (copy_artifact copies "
            "one file; copy its files one by one, or save an archive of it)"
        )
    if not source.is_file():
        raise FileNotFoundError(f"artifact source not found: {source}")
    dst = trust.confined(artifacts_dir, safe_name(filename or source.name), "write")
    dst.parent.mkdir(parents=True, exist_ok=True)
    fs.copy_file(source, dst)
    return dst


def exists(artifacts_dir: Path, filename: str) -> bool:
    """True when the artifact is a file inside the directory (not reached through a link out)."""
    name = safe_name(filename)
    if not (artifacts_dir / name).is_file():
        return False
    try:
        trust.confined(artifacts_dir, name, "read")
    except ValueError:
        return False
    return True


def list_names(artifacts_dir: Path) -> list[str]:
    """Artifact files (names relative to the directory, including sub-folders), sorted."""
    if not artifacts_dir.is_dir():
        return []
    out = []
    for root, _dirs, files in os.walk(artifacts_dir):
        for name in files:
            if name.startswith(".") and name.endswith(".tmp"):
                continue
            out.append(Path(root, name).relative_to(artifacts_dir).as_posix())
    return sorted(out)
