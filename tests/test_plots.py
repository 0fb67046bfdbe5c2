"""effcode.plots: every figure is written as PNG + PDF from small synthetic inputs."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from effcode import plots, v1
from effcode.errors import InputError
from effcode.plots.filters import filter_order, fraction_above
from effcode.plots.v1 import AXIS_LABELS, SHORT_NAMES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _gabors(n, size=12, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    theta = rng.uniform(0, np.pi, n)[:, None, None]
    freq = rng.uniform(0.1, 0.3, n)[:, None, None]
    carrier = np.cos(2 * np.pi * freq * (xx * np.cos(theta) + yy * np.sin(theta)))
    return np.exp(-(xx ** 2 + yy ** 2) / (2 * 2.5 ** 2)) * carrier


def _assert_written(base):
    png, pdf = base.with_name(base.name + ".png"), base.with_name(base.name + ".pdf")
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert 2_000 < png.stat().st_size < 400_000
    leftovers = [p.name for p in base.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_save_figure_writes_png_and_pdf(tmp_path):
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [0, 1])
    written = plots.save_figure(fig, tmp_path / "sub" / "line.v2", dpi=50)
    assert [p.name for p in written] == ["line.v2.png", "line.v2.pdf"]
    _assert_written(tmp_path / "sub" / "line.v2")
    # 2 x 2 inches at 50 dpi -> a 100 x 100 pixel PNG (width/height in the IHDR chunk)
    header = written[0].read_bytes()[16:24]
    assert int.from_bytes(header[:4], "big") == 100 and int.from_bytes(header[4:], "big") == 100
    with pytest.raises(InputError, match="must not end in .png"):
        plots.save_figure(fig, tmp_path / "x.png")
    with pytest.raises(InputError, match="fig must be a matplotlib Figure"):
        plots.save_figure("not a figure", tmp_path / "x")


def test_filter_order_and_fraction_above():
    r2 = np.array([0.5, np.nan, 0.9, 0.7])
    np.testing.assert_array_equal(filter_order(r2, 4, "r2"), [2, 3, 0, 1])
    np.testing.assert_array_equal(filter_order(None, 3, "index"), [0, 1, 2])
    assert fraction_above(r2, 0.6) == 0.5  # 0.9 and 0.7 of four (NaN counts as below)
    with pytest.raises(InputError, match="order='r2' needs r2"):
        filter_order(None, 3, "r2")


def test_filter_mosaic(tmp_path):
    fitted = _gabors(10)
    filters = fitted + 0.2 * np.random.default_rng(1).normal(size=fitted.shape)
    r2 = np.linspace(0.2, 0.95, 10)
    r2[4] = np.nan
    fig = plots.filter_mosaic(filters, fitted, r2, path=tmp_path / "mosaic")
    _assert_written(tmp_path / "mosaic")
    image = fig.axes[0].images[0].get_array()
    # the first tile is the best fit (index 9), scaled to max |value| = 1
    tile = image[:12, :12]
    np.testing.assert_allclose(tile, filters[9] / np.abs(filters[9]).max())
    assert "sorted by decreasing R²" in fig.axes[0].get_title()
    plots.filter_mosaic(filters, order="index", max_filters=4, path=tmp_path / "plain")
    _assert_written(tmp_path / "plain")
    with pytest.raises(InputError, match="fitted must have the shape"):
        plots.filter_mosaic(filters, fitted[:3], r2)
    with pytest.raises(InputError, match="r2 must have one value per filter"):
        plots.filter_mosaic(filters, fitted, r2[:5])
    with pytest.raises(InputError, match="filters must be a 3-D"):
        plots.filter_mosaic(filters[0])


def test_r2_histogram(tmp_path):
    rng = np.random.default_rng(0)
    populations = {"ICA": rng.uniform(0.5, 1.0, 100),
                   "sparse coding": np.r_[rng.uniform(-0.2, 1, 49), np.nan]}
    fig = plots.r2_histogram(populations, path=tmp_path / "r2")
    _assert_written(tmp_path / "r2")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ica = populations["ICA"]
    expected = f">0.8: {np.mean(ica > 0.8):.0%}"
    assert legend[0].startswith("ICA (n=100)") and expected in legend[0]
    assert "1 failed" in legend[1]
    with pytest.raises(InputError, match="non-empty dict"):
        plots.r2_histogram({})
    with pytest.raises(InputError, match="1-D"):
        plots.r2_histogram({"a": np.zeros((2, 2))})


def test_nxny_scatter(tmp_path):
    rng = np.random.default_rng(0)
    nx, ny = rng.lognormal(np.log(0.5), 0.4, 60), rng.lognormal(np.log(0.6), 0.4, 60)
    nx[0] = 0.0                        # beyond the axes: drawn on the edge
    nx[1], ny[1] = 2.5, 0.5            # resolved but outside Ringach's grid
    resolved = np.ones(60, bool)
    resolved[[0, 2, 3]] = False
    fig = plots.nxny_scatter(nx, ny, "ICA", resolved=resolved, distance=0.4321, p_value=0.0004, null_95=0.25,
                             path=tmp_path / "nxny")
    _assert_written(tmp_path / "nxny")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    outside = v1.nxny.outside_grid(nx, ny)
    assert legend[0] == (f"ICA, nx and ny resolved: n = 57, {int(outside[resolved].sum())} outside the grid\n"
                         "TV = 0.43, p < 0.001, null 95% at n = 57: 0.25")
    assert legend[1] == f"unresolved, not compared: n = 3, {int(outside[~resolved].sum())} outside the grid"
    assert any("1 beyond" in t and "drawn on the edge" in t for t in legend)
    # resolved units are filled dots, unresolved ones hollow circles
    filled, hollow = ax.collections[1], ax.collections[2]
    assert filled.get_offsets().shape[0] == 57 and hollow.get_offsets().shape[0] == 2
    assert hollow.get_facecolors().size == 0 or hollow.get_facecolors()[0][3] == 0
    # only draws: no statistic unless it is given
    bare = plots.nxny_scatter(nx, ny)
    assert "TV" not in bare.legends[0].get_texts()[0].get_text()
    with pytest.raises(InputError, match="same length"):
        plots.nxny_scatter(nx, ny[:5])
    with pytest.raises(InputError, match="boolean mask"):
        plots.nxny_scatter(nx, ny, resolved=resolved[:5])


def test_funnel_chart(tmp_path):
    from effcode.plots.v1 import funnel_chart

    def funnel(resolved):
        return {"all units": 100, "fit succeeded": 98, "R² ≥ threshold": 90, "nx and ny resolved": resolved,
                "inside the reference grid": resolved - 10}

    fig = funnel_chart({"sparse coding": [funnel(60), funnel(70)], "ICA": funnel(80)}, population="basis functions",
                       path=tmp_path / "funnel")
    _assert_written(tmp_path / "funnel")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()][4].startswith("unresolved")
    texts = [t.get_text() for t in ax.texts]
    assert "25" in texts and "10" in texts        # mean unresolved counts: (30 + 20) / 2, 90 - 80
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sparse coding (2 seeds)", "ICA (1 seed)"]
    with pytest.raises(InputError, match="non-empty"):
        funnel_chart({})
    with pytest.raises(InputError, match="lacks the stage"):
        funnel_chart({"ICA": [{"all units": 3}]})


def test_property_distributions(tmp_path):
    props = v1.ringach2002_properties()
    rng = np.random.default_rng(0)
    table = {"circular_variance": np.asarray(props["circular_variance"]),
             "ori_bandwidth_deg": rng.uniform(5, 120, 304),
             "peak_sf_cpd": 2 ** rng.normal(1.5, 1, 304),
             "sf_bandwidth_oct_at_707": np.where(rng.uniform(size=304) < 0.2, np.nan, rng.uniform(0.5, 3, 304))}
    fig = plots.property_distributions(table, "toy", n_bootstrap=50, path=tmp_path / "props")
    _assert_written(tmp_path / "props")
    assert len(fig.axes) == 4
    # the V1 cells themselves as the model: circular-variance panel scores about 1
    assert fig.axes[0].get_title().startswith("circular variance: score 1.0")
    assert fig.axes[2].get_xscale() == "log"  # peak SF on log2 axis
    with pytest.raises(InputError, match="none of the columns"):
        plots.property_distributions({"r2": np.ones(3)})
    with pytest.raises(InputError, match="model_table must be a dict"):
        plots.property_distributions(np.ones(3))


def test_similarity_table(tmp_path):
    scores = {"ICA": {"circular_variance": 0.8, "peak_sf": {"score": 0.6}},
              "SC": {"circular_variance": 0.9}}
    fig = plots.similarity_table(scores, path=tmp_path / "table")
    _assert_written(tmp_path / "table")
    cells = fig.axes[0].tables[0].get_celld()
    texts = {cell.get_text().get_text() for cell in cells.values()}
    assert {"0.800", "0.600", "0.900", "0.700", "–", "0.959"} <= texts  # 0.700 = ICA mean
    with pytest.raises(InputError, match="unknown property"):
        plots.similarity_table({"ICA": {"bogus": 1.0}})
    with pytest.raises(InputError, match="must be a number"):
        plots.similarity_table({"ICA": {"peak_sf": "high"}})


def test_labels_cover_every_property():
    assert set(AXIS_LABELS) == set(v1.property_names()) == set(SHORT_NAMES)


def test_nxny_scatter_draws_an_empty_population_and_into_a_given_axes():
    import matplotlib

    matplotlib.use("Agg")
    from effcode.plots.figure import new_figure
    from effcode.plots.v1 import nxny_scatter

    fig = nxny_scatter([], [], label="none")
    assert fig.axes and fig.axes[0].get_xscale() == "log"
    host = new_figure(6, 3)
    axes = host.subplots(1, 2)
    drawn = nxny_scatter([0.3, 0.5], [0.6, 1.2], ax=axes[1], colorbar=False, legend=False, title="panel")
    assert drawn is axes[1] and drawn.get_title() == "panel"
    assert len(host.axes) == 2                      # no colorbar axes added
