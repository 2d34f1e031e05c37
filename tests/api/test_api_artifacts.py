"""Artifacts through ``import yanex``: every documented format both ways, custom savers and
loaders, the documented errors, standalone ``./artifacts/``, other experiments, and names that
try to escape the artifacts directory."""

from __future__ import annotations

import json
import os
import pickle
import sys
from pathlib import Path

import pytest

import yanex
from yanex.errors import ExperimentNotFoundError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def exp():
    """A tracked experiment for the duration of the test."""
    with yanex.create_experiment(Path("t.py")) as ctx:
        yield ctx


def _file(name: str) -> Path:
    artifacts = yanex.get_artifacts_dir()
    assert artifacts is not None
    return artifacts / name


def test_txt(exp) -> None:
    """.txt saves a str as UTF-8 text and loads it back."""
    yanex.save_artifact("Training complete ✓", "status.txt")
    assert _file("status.txt").read_text(encoding="utf-8") == "Training complete ✓"
    assert yanex.load_artifact("status.txt") == "Training complete ✓"


def test_json(exp) -> None:
    """.json saves dicts and lists (numpy values converted) and loads them back."""
    import numpy as np

    yanex.save_artifact({"acc": 0.95, "v": np.arange(2)}, "metrics.json")
    assert json.loads(_file("metrics.json").read_text()) == {"acc": 0.95, "v": [0, 1]}
    yanex.save_artifact([1, "a", None], "list.json")
    assert yanex.load_artifact("list.json") == [1, "a", None]


def test_jsonl(exp) -> None:
    """.jsonl writes one JSON object per line and loads the list back."""
    rows = [{"a": 1}, {"a": 2, "b": "x"}]
    yanex.save_artifact(rows, "rows.jsonl")
    assert _file("rows.jsonl").read_text().splitlines() == ['{"a": 1}', '{"a": 2, "b": "x"}']
    assert yanex.load_artifact("rows.jsonl") == rows


def test_csv_from_dataframe(exp) -> None:
    """.csv saves a DataFrame without its index and loads a DataFrame back."""
    import pandas as pd

    df = pd.DataFrame({"lr": [0.1, 0.01], "acc": [0.8, 0.9]})
    yanex.save_artifact(df, "results.csv")
    assert _file("results.csv").read_text().splitlines() == ["lr,acc", "0.1,0.8", "0.01,0.9"]
    pd.testing.assert_frame_equal(yanex.load_artifact("results.csv"), df)


def test_csv_from_list_of_dicts(exp) -> None:
    """.csv saves a list of dicts with the union of their keys as header."""
    yanex.save_artifact([{"a": 1, "b": 2}, {"a": 3, "c": 4}], "rows.csv")
    assert _file("rows.csv").read_text().splitlines() == ["a,b,c", "1,2,", "3,,4"]
    loaded = yanex.load_artifact("rows.csv")
    assert list(loaded.columns) == ["a", "b", "c"] and loaded["a"].tolist() == [1, 3]


def test_npy_and_npz(exp) -> None:
    """.npy saves one array, .npz a dict of arrays; both load back equal."""
    import numpy as np

    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    yanex.save_artifact(arr, "a.npy")
    np.testing.assert_array_equal(np.load(_file("a.npy")), arr)
    np.testing.assert_array_equal(yanex.load_artifact("a.npy"), arr)
    yanex.save_artifact({"x": arr, "y": np.ones(2)}, "b.npz")
    loaded = yanex.load_artifact("b.npz")
    assert set(loaded) == {"x", "y"}
    np.testing.assert_array_equal(loaded["x"], arr)


@pytest.mark.parametrize("ext", [".pt", ".pth"])
def test_torch(exp, ext: str) -> None:
    """.pt/.pth save with torch.save and load back tensors equal."""
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch)")
    state = {"w": torch.arange(6.0).reshape(2, 3), "step": 3}
    yanex.save_artifact(state, f"model{ext}")
    assert torch.load(_file(f"model{ext}"))["step"] == 3
    loaded = yanex.load_artifact(f"model{ext}")
    assert torch.equal(loaded["w"], state["w"]) and loaded["step"] == 3


def test_pickle(exp) -> None:
    """.pkl pickles any object."""
    obj = {"set": {1, 2}, "tuple": (1, "a"), "bytes": b"\x00"}
    yanex.save_artifact(obj, "obj.pkl")
    assert pickle.loads(_file("obj.pkl").read_bytes()) == obj
    assert yanex.load_artifact("obj.pkl") == obj


def test_png_from_matplotlib_figure(exp) -> None:
    """A matplotlib Figure saves as a real PNG and loads as an image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([3, 1, 2])
    yanex.save_artifact(fig, "loss_curve.png")
    plt.close(fig)
    assert _file("loss_curve.png").read_bytes().startswith(PNG_MAGIC)
    img = yanex.load_artifact("loss_curve.png")
    assert img.format is None or img.format == "PNG"
    assert img.size[0] > 10 and img.size[1] > 10


def test_png_from_pil_image(exp) -> None:
    """A PIL Image saves as a real PNG (not another format) and loads back the same pixels."""
    from PIL import Image

    img = Image.new("RGB", (7, 5), (10, 200, 30))
    yanex.save_artifact(img, "img.png")
    assert _file("img.png").read_bytes().startswith(PNG_MAGIC)
    with Image.open(_file("img.png")) as reopened:
        assert reopened.format == "PNG"
    loaded = yanex.load_artifact("img.png")
    assert loaded.size == (7, 5) and loaded.getpixel((3, 2)) == (10, 200, 30)


def test_custom_saver_and_loader(exp) -> None:
    """A custom saver gets (obj, path) inside the artifacts dir; a custom loader gets the path."""
    seen = []

    def saver(obj, path: Path) -> None:
        seen.append(path)
        path.write_bytes(bytes(reversed(obj)))

    yanex.save_artifact(b"abc", "data.custom", saver=saver)
    assert seen == [_file("data.custom")]
    assert _file("data.custom").read_bytes() == b"cba"
    assert yanex.load_artifact("data.custom", loader=lambda p: p.read_bytes()[::-1]) == b"abc"
    yanex.save_artifact("x", "override.json", saver=lambda o, p: p.write_text("raw"))
    assert _file("override.json").read_text() == "raw"  # a saver wins over the extension


def test_unknown_extension_is_value_error(exp) -> None:
    """No saver and an unknown extension raises ValueError; nothing is written."""
    for name in ("data.custom", "noext"):
        with pytest.raises(ValueError, match="saver"):
            yanex.save_artifact({"a": 1}, name)
        assert not yanex.artifact_exists(name)
    _file("blob.bin").write_bytes(b"x")
    with pytest.raises(ValueError, match="loader"):
        yanex.load_artifact("blob.bin")


@pytest.mark.parametrize(
    ("obj", "name"),
    [
        (123, "a.txt"),
        ("text", "a.csv"),
        ([1, 2], "a.csv"),
        (object(), "a.json"),
        ({"a": 1}, "a.jsonl"),
        ([1, 2], "a.npy"),
        ("x", "a.npz"),
        ("not a figure", "a.png"),
    ],
)
def test_wrong_type_is_type_error(exp, obj: object, name: str) -> None:
    """An object of the wrong type for its extension raises TypeError under tracking."""
    with pytest.raises(TypeError):
        yanex.save_artifact(obj, name)
    assert not yanex.artifact_exists(name)


def test_wrong_type_is_type_error_standalone(work_dir: Path) -> None:
    """Standalone save_artifact raises the same TypeError."""
    with pytest.raises(TypeError, match=r"\.txt"):
        yanex.save_artifact(1, "a.txt")


@pytest.mark.parametrize(
    ("module", "name", "obj", "package"),
    [
        ("numpy", "a.npy", [1], "numpy"),
        ("numpy", "a.npz", {}, "numpy"),
        ("torch", "m.pt", {}, "torch"),
        ("torch", "m.pth", {}, "torch"),
    ],
)
def test_missing_library_save(
    exp, monkeypatch, module: str, name: str, obj: object, package: str
) -> None:
    """Saving a format whose library is missing raises ImportError saying what to install."""
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=f"pip install {package}"):
        yanex.save_artifact(obj, name)


@pytest.mark.parametrize(
    ("module", "name", "package"),
    [("numpy", "a.npy", "numpy"), ("torch", "m.pt", "torch"), ("PIL.Image", "i.png", "Pillow")],
)
def test_missing_library_load(exp, monkeypatch, module: str, name: str, package: str) -> None:
    """Loading a format whose library is missing raises ImportError saying what to install."""
    _file(name).write_bytes(b"placeholder")
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=f"pip install {package}"):
        yanex.load_artifact(name)


def test_csv_without_pandas(exp, monkeypatch) -> None:
    """Without pandas, a list of dicts still saves as .csv and loads as a list of dicts."""
    monkeypatch.setitem(sys.modules, "pandas", None)
    yanex.save_artifact([{"a": 1, "b": "x"}], "rows.csv")
    assert yanex.load_artifact("rows.csv") == [{"a": "1", "b": "x"}]


def test_copy_artifact(exp, work_dir: Path) -> None:
    """copy_artifact copies a file by str or Path, under its own or a new name."""
    src = work_dir / "data" / "results.csv"
    src.parent.mkdir()
    src.write_text("a,b\n1,2\n")
    yanex.copy_artifact("data/results.csv")
    yanex.copy_artifact(src, "renamed.csv")
    assert _file("results.csv").read_text() == "a,b\n1,2\n"
    assert _file("renamed.csv").read_text() == "a,b\n1,2\n"
    assert src.exists()
    with pytest.raises(FileNotFoundError):
        yanex.copy_artifact("missing.txt")


def test_load_missing_returns_none(exp) -> None:
    """load_artifact returns None for an artifact that does not exist, whatever its format."""
    assert yanex.load_artifact("checkpoint.pt") is None
    assert yanex.load_artifact("nothing.custom") is None
    assert yanex.load_artifact("nothing.custom", loader=lambda p: 1 / 0) is None


def test_exists_and_list(exp) -> None:
    """artifact_exists and list_artifacts see saved files, sorted, including sub-folders."""
    assert yanex.list_artifacts() == []
    assert yanex.artifact_exists("b.txt") is False
    for name in ("b.txt", "a.json", "plots/c.txt"):
        yanex.save_artifact("x" if name.endswith(".txt") else {}, name)
    assert yanex.artifact_exists("b.txt") is True
    assert yanex.artifact_exists("plots/c.txt") is True
    assert yanex.list_artifacts() == ["a.json", "b.txt", "plots/c.txt"]
    assert exp.list_artifacts() == ["a.json", "b.txt", "plots/c.txt"]


def test_standalone_uses_cwd_artifacts(store_dir: Path, work_dir: Path) -> None:
    """Standalone, every artifact function works on ./artifacts/ and the store stays empty."""
    src = work_dir / "out.txt"
    src.write_text("output")
    yanex.copy_artifact(src, "final_output.txt")
    yanex.save_artifact({"a": 1}, "r.json")
    assert sorted(os.listdir(work_dir / "artifacts")) == ["final_output.txt", "r.json"]
    assert yanex.load_artifact("r.json") == {"a": 1}
    assert yanex.artifact_exists("final_output.txt") is True
    assert yanex.list_artifacts() == ["final_output.txt", "r.json"]
    assert yanex.load_artifact("none.json") is None
    assert not store_dir.exists()


def test_load_from_another_experiment(work_dir: Path) -> None:
    """load_artifact(from_experiment=id) reads another experiment's artifacts, tracked or not."""
    with yanex.create_experiment(Path("a.py")) as first:
        yanex.save_artifact({"w": 1}, "model.json")
        first_id = first.experiment_id
    assert yanex.load_artifact("model.json", from_experiment=first_id) == {"w": 1}
    with yanex.create_experiment(Path("b.py")):
        assert yanex.load_artifact("model.json") is None
        assert yanex.load_artifact("model.json", from_experiment=first_id) == {"w": 1}
        assert yanex.artifact_exists("model.json", from_experiment=first_id) is True
        assert yanex.list_artifacts(from_experiment=first_id) == ["model.json"]
        assert yanex.load_artifact("other.json", from_experiment=first_id) is None
        with pytest.raises(ExperimentNotFoundError):
            yanex.load_artifact("model.json", from_experiment="deadbeef")


def _all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "name",
    ["../x.txt", "../../x.txt", "sub/../../x.txt", "/tmp/yanex_escape.txt", "..", "./../x.txt"],
)
def test_escaping_names_refused(tmp_path: Path, work_dir: Path, name: str) -> None:
    """Names that leave the artifacts dir are refused with ValueError; nothing is written."""
    src = work_dir / "src.txt"
    src.write_text("s")
    absolute = Path("/tmp/yanex_escape.txt")
    absolute.unlink(missing_ok=True)
    with yanex.create_experiment(Path("t.py")):
        before = _all_files(tmp_path)
        with pytest.raises(ValueError, match="artifact"):
            yanex.save_artifact("x", name)
        with pytest.raises(ValueError, match="artifact"):
            yanex.save_artifact("x", name, saver=lambda o, p: p.write_text(o))
        with pytest.raises(ValueError, match="artifact"):
            yanex.copy_artifact(src, name)
        with pytest.raises(ValueError, match="artifact"):
            yanex.load_artifact(name)
        with pytest.raises(ValueError, match="artifact"):
            yanex.artifact_exists(name)
        assert _all_files(tmp_path) == before
    with pytest.raises(ValueError, match="artifact"):  # standalone too
        yanex.save_artifact("x", name)
    assert not absolute.exists()
    assert not (work_dir / "artifacts").exists()


def test_empty_name_refused(exp) -> None:
    """An empty artifact name is refused with ValueError."""
    for name in ("", "  "):
        with pytest.raises(ValueError, match="empty"):
            yanex.save_artifact("x", name)
    assert yanex.list_artifacts() == []
