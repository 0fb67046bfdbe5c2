"""Copy one figure of the committed full run (``results/``) onto each user-guide page.

Each guide page shows a figure an experiment drew, so the page's subject is seen as the suite
computes it. The copies live in ``docs/_static/figures/`` (committed, scaled down to at most
``MAX_WIDTH`` pixels wide), so building the site needs neither the results nor any computation.
After a full re-run of the suite, refresh them from the repository root with

    python docs/copy_figures.py
"""

from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "_static" / "figures"
#: widest copy, in pixels: enough for the page's text column, small in the repository
MAX_WIDTH = 720

#: guide page -> the figure of ``results/`` it shows
FIGURES = {
    "install": "01_sparse_coding/figures/basis.png",
    "cli": "04_gabor_likeness/figures/r2_ecdf.png",
    "data": "09_phase_scrambling/figures/stimuli.png",
    "objectives": "06_objective_sweep/figures/sweep.png",
    "ica": "02_ica/figures/basis.png",
    "sparse_cnn": "03_sparse_cnn/figures/filters.png",
    "sailnet": "13_v1_like_codes/figures/nxny_by_code.png",
    "gabor": "01_sparse_coding/figures/basis_vs_gabor.png",
    "v1": "05_v1_comparison/figures/nxny_sparse_coding.png",
    "encoding": "08_encoding/figures/predictions.png",
    "mechanisms": "10_architecture/figures/receptive_fields.png",
    "bad_input": "12_training_length/figures/training_length.png",
    "scikit_learn": "07_overcompleteness/figures/overcompleteness.png",
}


def copy_figures() -> list[Path]:
    """Write ``docs/_static/figures/<page>.png`` for every page of ``FIGURES``; return the paths written."""
    TARGET.mkdir(parents=True, exist_ok=True)
    written = []
    for page, source in FIGURES.items():
        with Image.open(ROOT / "results" / source) as image:
            image = image.convert("RGB")
            if image.width > MAX_WIDTH:
                image = image.resize((MAX_WIDTH, round(image.height * MAX_WIDTH / image.width)), Image.LANCZOS)
            path = TARGET / f"{page}.png"
            image.quantize(colors=256).save(path, optimize=True)   # plots need no more colours
            written.append(path)
    return written


if __name__ == "__main__":
    for path in copy_figures():
        print(path.relative_to(ROOT))
