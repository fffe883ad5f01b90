"""The example notebook runs top to bottom in a fresh kernel (on tiny data, to stay quick)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


@pytest.mark.slow
def test_the_example_notebook_runs_top_to_bottom(tiny_mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("ACTBENCH_DATA", str(tiny_mnist))
    monkeypatch.setenv("ACTBENCH_EXAMPLE_EPOCHS", "2")
    monkeypatch.setenv("ACTBENCH_EXAMPLE_TRAIN_LIMIT", "600")
    monkeypatch.setenv("ACTBENCH_EXAMPLE_OUT", str(tmp_path / "out"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3").execute()  # raises on any error
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("torch.nn:GELU" in h and "<table" in h for h in html)  # the run's table
    assert any("its part [95% CI]" in h for h in html)  # the breakdown
    assert any("grad_ratio" in h for h in html)  # the health readings
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 5  # scatter, curves, timeline, health, overlay
    assert (tmp_path / "out" / "notebook-a" / "trials.csv").is_file()
    assert (tmp_path / "out" / "notebook-b" / "trials.csv").is_file()
    # the factory and activation defined in the notebook trained (in worker processes: the
    # only local executor there is), both seeds, each activation and the baseline
    trials = (tmp_path / "out" / "notebook-mine" / "trials.csv").read_text().splitlines()
    assert len(trials) == 1 + 2 * 3
    assert any("__main__:SquaredReLU" in h for h in html)
    # Conv2d(1, 8, 3) and Linear(1352, 10), counted by hand
    assert any(
        f"parameters: {8 * 9 + 8 + 1352 * 10 + 10}" in "".join(o.get("text", "")) for o in outputs
    )
