"""effcode.plots: every figure is written as PNG + PDF from small synthetic inputs, every plot function
works with its defaults, draws into an axes (or axes) of the user's own and returns it, makes its own figure
through pyplot otherwise (a plain Figure inside headless_figures), and R² distributions are exact ECDFs."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from effcode import plots, v1  # noqa: E402
from effcode.errors import InputError  # noqa: E402
from effcode.plots.figure import headless_figures  # noqa: E402
from effcode.plots.filters import filter_order, fraction_above  # noqa: E402
from effcode.plots.v1 import AXIS_LABELS, SHORT_NAMES  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    """Every test starts and ends with no pyplot figure."""
    plt.close("all")
    yield
    plt.close("all")

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
    ax = plots.filter_mosaic(filters, fitted, r2, path=tmp_path / "mosaic")
    _assert_written(tmp_path / "mosaic")
    image = ax.images[0].get_array()
    # the first tile is the best fit (index 9), scaled to max |value| = 1
    tile = image[:12, :12]
    np.testing.assert_allclose(tile, filters[9] / np.abs(filters[9]).max())
    assert "sorted by decreasing R²" in ax.get_title()
    colorbar, = [a for a in ax.figure.axes if a is not ax]            # the tiles' scale
    assert colorbar.get_ylim() == (-1.0, 1.0) and "max|w|" in colorbar.get_ylabel()
    plots.filter_mosaic(filters, order="index", max_filters=4, path=tmp_path / "plain")
    _assert_written(tmp_path / "plain")
    with pytest.raises(InputError, match="fitted must have the shape"):
        plots.filter_mosaic(filters, fitted[:3], r2)
    with pytest.raises(InputError, match="r2 must have one value per filter"):
        plots.filter_mosaic(filters, fitted, r2[:5])
    with pytest.raises(InputError, match="filters must be a 3-D"):
        plots.filter_mosaic(filters[0])


def test_ecdf_steps_are_k_over_n():
    x, y = plots.ecdf(np.array([0.9, np.nan, 0.2, 0.9, 0.5]))
    np.testing.assert_array_equal(x, [-np.inf, 0.2, 0.5, 0.9, 0.9])      # a failed fit (NaN) lies below all
    np.testing.assert_array_equal(y, [0.2, 0.4, 0.6, 0.8, 1.0])
    x, y = plots.ecdf(np.arange(7.0)[::-1])
    np.testing.assert_array_equal(x, np.arange(7.0))
    np.testing.assert_allclose(y, np.arange(1, 8) / 7)


def test_r2_ecdf(tmp_path):
    rng = np.random.default_rng(0)
    populations = {"ICA": rng.uniform(0.5, 1.0, 100),
                   "sparse coding": np.r_[rng.uniform(-0.2, 1, 49), np.nan]}
    ax = plots.r2_ecdf(populations, path=tmp_path / "r2")
    _assert_written(tmp_path / "r2")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    ica = populations["ICA"]
    expected = f">0.8: {np.mean(ica > 0.8):.0%}"
    assert legend[0].startswith("ICA (n=100)") and expected in legend[0]
    assert "1 failed" in legend[1]
    # the curves are the ECDFs: after the k-th smallest value the height is k/n (failed fits and R² < 0 at 0)
    ica_line, sc_line = ax.get_lines()[:2]
    np.testing.assert_allclose(ica_line.get_ydata()[1:-1], np.arange(1, 101) / 100)
    np.testing.assert_allclose(ica_line.get_xdata()[1:-1], np.sort(ica))
    sc = populations["sparse coding"]
    at_zero = np.mean(np.nan_to_num(sc, nan=-1) <= 0)
    x, y = sc_line.get_xdata(), sc_line.get_ydata()
    assert y[np.flatnonzero(x == 0)[-1]] == pytest.approx(at_zero)
    # 1 - the height at a threshold is the fraction above it
    height_at_08 = y[np.flatnonzero(x <= 0.8)[-1]]
    assert 1 - height_at_08 == pytest.approx(np.mean(np.nan_to_num(sc, nan=-1) > 0.8))
    # the legend sits below the axes, clear of the curves
    ax.figure.canvas.draw()
    assert ax.get_legend().get_window_extent().y1 < ax.get_window_extent().y0
    with pytest.raises(InputError, match="non-empty dict"):
        plots.r2_ecdf({})
    with pytest.raises(InputError, match="1-D"):
        plots.r2_ecdf({"a": np.zeros((2, 2))})


def test_nxny_scatter(tmp_path):
    rng = np.random.default_rng(0)
    nx, ny = rng.lognormal(np.log(0.5), 0.4, 60), rng.lognormal(np.log(0.6), 0.4, 60)
    nx[0] = 0.0                        # beyond the axes: drawn on the edge
    nx[1], ny[1] = 2.5, 0.5            # resolved but outside Ringach's grid
    resolved = np.ones(60, bool)
    resolved[[0, 2, 3]] = False
    ax = plots.nxny_scatter(nx, ny, "ICA", resolved=resolved, distance=0.4321, p_value=0.0004, null_95=0.25,
                            path=tmp_path / "nxny")
    _assert_written(tmp_path / "nxny")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    legend = [t.get_text() for t in ax.figure.legends[0].get_texts()]
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
    assert "TV" not in bare.figure.legends[0].get_texts()[0].get_text()
    with pytest.raises(InputError, match="same length"):
        plots.nxny_scatter(nx, ny[:5])
    with pytest.raises(InputError, match="boolean mask"):
        plots.nxny_scatter(nx, ny, resolved=resolved[:5])


def test_funnel_chart(tmp_path):
    from effcode.plots.v1 import funnel_chart

    def funnel(resolved):
        return {"all units": 100, "fit succeeded": 98, "R² ≥ threshold": 90, "nx and ny resolved": resolved,
                "inside the reference grid": resolved - 10}

    ax = funnel_chart({"sparse coding": [funnel(60), funnel(70)], "ICA": funnel(80)}, population="basis functions",
                      path=tmp_path / "funnel")
    _assert_written(tmp_path / "funnel")
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
    axes = plots.property_distributions(table, "toy", n_bootstrap=50, path=tmp_path / "props")
    _assert_written(tmp_path / "props")
    assert len(axes) == 4 and axes[0].figure.axes == axes
    # the V1 cells themselves as the model: circular-variance panel scores about 1
    assert axes[0].get_title().startswith("circular variance: score 1.0")
    assert axes[2].get_xscale() == "log"  # peak SF on log2 axis
    with pytest.raises(InputError, match="none of the columns"):
        plots.property_distributions({"r2": np.ones(3)})
    with pytest.raises(InputError, match="model_table must be a dict"):
        plots.property_distributions(np.ones(3))


def test_similarity_table(tmp_path):
    scores = {"ICA": {"circular_variance": 0.8, "peak_sf": {"score": 0.6}},
              "SC": {"circular_variance": 0.9}}
    ax = plots.similarity_table(scores, path=tmp_path / "table")
    _assert_written(tmp_path / "table")
    cells = ax.tables[0].get_celld()
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

    ax = nxny_scatter([], [], label="none")
    assert ax.get_xscale() == "log"
    host = new_figure(6, 3)
    axes = host.subplots(1, 2)
    drawn = nxny_scatter([0.3, 0.5], [0.6, 1.2], ax=axes[1], colorbar=False, legend=False, title="panel")
    assert drawn is axes[1] and drawn.get_title() == "panel"
    assert len(host.axes) == 2                      # no colorbar axes added


def _toy_inputs():
    """Minimal valid arguments of every public plot function: its required data only (and a short bootstrap)."""
    rng = np.random.default_rng(0)
    stages = {"all units": 10, "fit succeeded": 9, "R² ≥ threshold": 8, "nx and ny resolved": 6,
              "inside the reference grid": 5}
    props = v1.ringach2002_properties()
    return {
        "filter_mosaic": ((_gabors(4),), {}),
        "r2_ecdf": (({"a": rng.uniform(0, 1, 20), "b": rng.uniform(0, 1, 30)},), {}),
        "nxny_scatter": (([0.3, 0.5, 0.7], [0.6, 1.2, 0.4]), {}),
        "funnel_chart": (({"a": [stages]},), {}),
        "similarity_table": (({"a": {"circular_variance": 0.8}},), {}),
        "property_distributions": (({"circular_variance": np.asarray(props["circular_variance"])},),
                                   {"n_bootstrap": 5}),
    }


PLOT_FUNCTIONS = sorted(_toy_inputs())
MULTI_PANEL = {"property_distributions"}


def test_every_public_plot_function_is_covered():
    helpers = {"DEFAULT_DPI", "save_figure", "ecdf", "ringach_count_scale", "ringach_count_colorbar"}
    assert set(plots.__all__) - helpers == set(PLOT_FUNCTIONS)


@pytest.mark.parametrize("name", PLOT_FUNCTIONS)
def test_plot_function_draws_into_the_users_axes_and_returns_it(name, tmp_path):
    args, kwargs = _toy_inputs()[name]
    function = getattr(plots, name)
    user = Figure(figsize=(10, 4), layout="constrained")
    if name in MULTI_PANEL:
        left, right = user.subfigures(1, 2)
        right.add_subplot().plot([0, 1])                       # the user's own panel stays as it was
        panels = left.subplots(1, 1, squeeze=False).ravel()
        drawn = function(*args, axes=panels, **kwargs, path=tmp_path / name, title="mine")
        assert list(drawn) == list(panels) and left.axes == list(panels)
        assert all(ax.lines or ax.patches or ax.collections for ax in left.axes)
        assert left.get_suptitle() == "mine"
        assert len(right.axes) == 1 and len(right.axes[0].lines) == 1
    else:
        mine, theirs = user.subplots(1, 2)
        theirs.plot([0, 1])
        drawn = function(*args, ax=theirs, **kwargs, path=tmp_path / name)
        assert drawn is theirs
        artists = theirs.lines + theirs.patches + theirs.collections + theirs.images + theirs.tables
        assert len(artists) > 1                                # the user's line plus what was drawn
        assert not (mine.lines or mine.patches or mine.collections or mine.images or mine.tables)
    _assert_written(tmp_path / name)                           # the user's whole figure


def test_plot_functions_refuse_what_is_not_an_axes():
    with pytest.raises(InputError, match="ax must be a matplotlib Axes"):
        plots.r2_ecdf({"a": np.ones(3)}, ax="left")
    table = {"circular_variance": np.linspace(0, 1, 5), "ori_bandwidth_deg": np.linspace(5, 90, 5)}
    panels = Figure().subplots(1, 3)
    for wrong, got in ((object(), "got object"), ("ab", "got str"), (panels, "got 3"),
                       ([panels[0], "right"], "got str among them")):
        with pytest.raises(InputError, match="axes must be 2 matplotlib Axes, one per property") as caught:
            plots.property_distributions(table, axes=wrong, n_bootstrap=5)
        message = str(caught.value)
        assert "\n" not in message and got in message
        assert "circular_variance, orientation_bandwidth" in message
    with pytest.raises(TypeError):                             # fig= is gone: axes= replaces it
        plots.property_distributions(table, fig=Figure(), n_bootstrap=5)
    assert plt.get_fignums() == []


def test_ringach_count_scale_gives_one_colour_per_count_for_shared_colorbars():
    counts = v1.ringach2002_nxny_histogram().counts
    scale = plots.ringach_count_scale()
    np.testing.assert_array_equal(scale.norm.boundaries, np.arange(counts.max() + 2) - 0.5)
    # every panel drawn with it maps a count to the same colour
    host = Figure()
    axes = host.subplots(1, 2)
    for ax in axes:
        plots.nxny_scatter([0.3], [0.6], ax=ax, colorbar=False, legend=False)
    meshes = [ax.collections[0] for ax in axes]
    assert all(m.norm.boundaries.tolist() == scale.norm.boundaries.tolist() for m in meshes)
    np.testing.assert_array_equal(meshes[0].to_rgba(meshes[0].get_array()), meshes[1].to_rgba(meshes[1].get_array()))
    bar = plots.ringach_count_colorbar(axes)                    # one colour bar for both panels
    assert len(host.axes) == 3 and bar.norm.boundaries.tolist() == scale.norm.boundaries.tolist()
    assert list(bar.get_ticks()) == list(range(0, counts.max() + 1, 5))


def test_figure_formats_limits_what_is_written_inside_its_block_only(tmp_path):
    from effcode.plots.figure import figure_formats
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [0, 1])
    with figure_formats(("png",)):
        assert [p.name for p in plots.save_figure(fig, tmp_path / "quick", dpi=50)] == ["quick.png"]
    assert [p.name for p in plots.save_figure(fig, tmp_path / "full", dpi=50)] == ["full.png", "full.pdf"]
    assert not (tmp_path / "quick.pdf").exists()
    for bad in ((), ("svg",)):
        with pytest.raises(InputError, match="formats must be a non-empty subset"):
            with figure_formats(bad):
                pass


def _figure_of(drawn):
    """The root Figure of what a plot function returned (an Axes or a list of panel Axes)."""
    ax = drawn[0] if isinstance(drawn, (list, tuple, np.ndarray)) else drawn
    assert isinstance(ax, Axes)
    return ax.get_figure(root=True)


@pytest.mark.parametrize("name", PLOT_FUNCTIONS)
def test_plot_function_with_defaults_makes_one_pyplot_figure(name):
    args, kwargs = _toy_inputs()[name]
    before = plt.get_fignums()
    drawn = getattr(plots, name)(*args, **kwargs)
    after = plt.get_fignums()
    assert len(after) == len(before) + 1
    new, = set(after) - set(before)
    assert _figure_of(drawn) is plt.figure(new)                # what it returned belongs to that figure
    assert plt.gcf() is _figure_of(drawn)                      # and plt.show()/Jupyter would show it


@pytest.mark.parametrize("name", PLOT_FUNCTIONS)
def test_plot_function_into_the_users_pyplot_axes_makes_no_figure(name):
    args, kwargs = _toy_inputs()[name]
    if name in MULTI_PANEL:
        fig, axes = plt.subplots(1, 1, squeeze=False)
        kwargs = {**kwargs, "axes": axes.ravel()}
    else:
        fig, ax = plt.subplots()
        kwargs = {**kwargs, "ax": ax}
    drawn = getattr(plots, name)(*args, **kwargs)
    assert plt.get_fignums() == [fig.number]
    assert _figure_of(drawn) is fig


@pytest.mark.parametrize("name", PLOT_FUNCTIONS)
def test_plot_function_inside_headless_figures_registers_nothing(name):
    args, kwargs = _toy_inputs()[name]
    with headless_figures():
        drawn = getattr(plots, name)(*args, **kwargs)
    assert plt.get_fignums() == []
    assert type(_figure_of(drawn)) is Figure
    assert getattr(getattr(_figure_of(drawn), "canvas", None), "manager", None) is None
    drawn = getattr(plots, name)(*args, **kwargs)              # the block has ended: pyplot again
    assert len(plt.get_fignums()) == 1


def test_property_distributions_fills_the_users_grid_of_axes():
    props = v1.ringach2002_properties()
    rng = np.random.default_rng(0)
    table = {"circular_variance": np.asarray(props["circular_variance"]),
             "ori_bandwidth_deg": rng.uniform(5, 120, 304),
             "peak_sf_cpd": 2 ** rng.normal(1.5, 1, 304),
             "sf_bandwidth_oct_at_707": rng.uniform(0.5, 3, 304)}
    fig, grid = plt.subplots(2, 2)
    drawn = plots.property_distributions(table, axes=grid, n_bootstrap=5)   # a 2-D array is read row by row
    assert list(drawn) == list(grid.ravel()) and plt.get_fignums() == [fig.number]
    assert [ax.get_title().split(":")[0] for ax in drawn] == ["circular variance", "orientation bandwidth",
                                                            "peak SF", "SF bandwidth"]


def test_filter_mosaic_of_a_bank_like_array_with_its_defaults():
    basis = np.random.default_rng(0).normal(size=(7, 8, 8))     # e.g. bank.basis: no r2
    ax = plots.filter_mosaic(basis)
    assert "in index order" in ax.get_title()
    np.testing.assert_allclose(ax.images[0].get_array()[:8, :8], basis[0] / np.abs(basis[0]).max())
    assert "sorted by decreasing R²" in plots.filter_mosaic(basis, r2=np.linspace(0, 1, 7)).get_title()
    with pytest.raises(InputError, match="order='r2' needs r2"):   # asking for R² order without R² stays an error
        plots.filter_mosaic(basis, order="r2")


def test_experiment_drawing_is_headless(tmp_path):
    """experiments.base.draw runs each experiment's plot step inside headless_figures."""
    import contextlib
    from types import SimpleNamespace

    from effcode.experiments import base

    seen = {}

    def plot(run):
        ax = plots.r2_ecdf({"a": np.linspace(0, 1, 9)}, path=tmp_path / "r2")
        seen["figure"], seen["fignums"] = _figure_of(ax), plt.get_fignums()
        return base.Section("toy", "text", [(f"{tmp_path / 'r2'}.png", "caption")])

    saved = {}
    run = SimpleNamespace(config={"quick": True}, root=tmp_path, save_json=lambda name, data: saved.update(data),
                          redraw=contextlib.nullcontext, path=lambda name: tmp_path / name)
    section = base.draw(SimpleNamespace(plot=plot), run)
    assert section.title == "toy" and saved["figures"] == [["r2.png", "caption"]]
    assert seen["fignums"] == [] and type(seen["figure"]) is Figure
    assert (tmp_path / "r2.png").exists() and not (tmp_path / "r2.pdf").exists()


def test_figure_formats_caps_the_resolution(tmp_path):
    """Quick runs draw drafts: inside figure_formats(..., max_dpi=50) a 2-inch figure asked at 110 dpi is
    written 100 pixels wide, and outside it at its own 110 dpi (220 pixels)."""
    from PIL import Image

    from effcode.plots.figure import figure_formats, headless_figures, new_figure, save_figure

    with headless_figures():
        fig = new_figure(2.0, 1.0)
        fig.add_subplot().plot([0, 1])
        with figure_formats(("png",), max_dpi=50):
            capped = save_figure(fig, tmp_path / "capped", dpi=110)
        with figure_formats(("png",)):
            full = save_figure(fig, tmp_path / "full", dpi=110)
    assert Image.open(capped[0]).size[0] == 100 and Image.open(full[0]).size[0] == 220
    with pytest.raises(InputError, match="max_dpi"):
        with figure_formats(("png",), max_dpi=5):
            pass
