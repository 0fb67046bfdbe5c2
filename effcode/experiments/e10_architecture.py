"""Experiment 10: architecture principles of CNNs, each measured."""

from __future__ import annotations

from typing import Any, Literal, cast

import numpy as np

from ..plots.figure import new_figure, save_figure
from ..runs.config import Key
from .base import Experiment, Section, register
from .common import fmt, source_images

DILATIONS = ("1", "2", "exponential")


def _conv(cfg: dict, padding_mode: Literal["zeros", "reflect", "replicate", "circular"], seed: int):
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.nn.Conv2d(1, cfg["channels"], cfg["kernel_size"], padding=cfg["kernel_size"] // 2,
                               padding_mode=padding_mode).double()


def symmetry(run, cfg: dict, x) -> dict:
    """Equivariance and invariance errors against the shift, for convolution, pooling and global pooling."""
    import torch

    from ..encoding import equivariance_error, invariance_error

    circular, zeros = _conv(cfg, "circular", run.seed), _conv(cfg, "zeros", run.seed)
    r, shifts = cfg["kernel_size"] // 2, np.arange(cfg["max_shift"] + 1)
    margin = r + cfg["max_shift"]

    def pooled(stride):
        return lambda v: torch.nn.functional.max_pool2d(torch.relu(circular(v)), stride)

    def global_pool(v):
        return torch.relu(circular(v)).mean(dim=(-2, -1))

    out = {"shift": shifts,
           "equivariance_conv_circular": [equivariance_error(circular, x, 0, int(s)) for s in shifts],
           "equivariance_conv_zeros": [equivariance_error(zeros, x, 0, int(s), mode="zeros") for s in shifts],
           "equivariance_conv_zeros_interior": [equivariance_error(zeros, x, 0, int(s), mode="zeros",
                                                                   margin=margin) for s in shifts],
           "invariance_conv": [invariance_error(lambda v: torch.relu(circular(v)), x, 0, int(s)) for s in shifts],
           "invariance_global_pool": [invariance_error(global_pool, x, 0, int(s)) for s in shifts]}
    for stride in cfg["pool_strides"]:
        out[f"equivariance_pool_{stride}"] = [equivariance_error(pooled(stride), x, 0, int(s), stride=stride)
                                              for s in shifts]
        out[f"invariance_pool_{stride}"] = [invariance_error(pooled(stride), x, 0, int(s)) for s in shifts]
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def parameter_counts(cfg: dict) -> dict:
    """Trainable parameters of a conv layer, the locally connected layer of the same shape, and a dense
    layer between the same maps, for each input size (same padding, so H_out = H)."""
    import torch

    from ..encoding import LocallyConnected2d, parameter_count

    c_in, c_out, k = cfg["param_in_channels"], cfg["param_out_channels"], cfg["kernel_size"]
    rows: dict[str, list] = {"size": [], "conv": [], "locally_connected": [], "dense": [], "ratio": []}
    for size in cfg["param_sizes"]:
        conv = torch.nn.Conv2d(c_in, c_out, k, padding=k // 2)
        lc = LocallyConnected2d(c_in, c_out, k, (size, size), padding=k // 2)
        dense = (c_in * size * size) * (c_out * size * size) + c_out * size * size
        rows["size"].append(size)
        rows["conv"].append(parameter_count(conv))
        rows["locally_connected"].append(parameter_count(lc))
        rows["dense"].append(dense)
        rows["ratio"].append(parameter_count(lc) / parameter_count(conv))
    return {k: np.asarray(v) for k, v in rows.items()}


def receptive_fields(run, cfg: dict) -> dict:
    from ..encoding import conv_stack, input_gradient_map, receptive_field_widths, theoretical_receptive_field

    depths = np.arange(1, cfg["max_depth"] + 1)
    out = {"depth": depths}
    for dilation in DILATIONS:
        maps, support, effective, theory = [], [], [], []
        for depth in depths:
            net = conv_stack(int(depth), kernel_size=3, dilation=dilation, channels=cfg["channels"],
                             random_state=run.seed)
            g = input_gradient_map(net, cfg["erf_size"], n_samples=cfg["erf_samples"], random_state=run.seed)
            w = receptive_field_widths(g)
            maps.append(g / g.max())
            support.append(w["support"])
            effective.append(w["effective"])
            theory.append(theoretical_receptive_field(net))
        out.update({f"maps_{dilation}": np.stack(maps), f"support_{dilation}": np.asarray(support),
                    f"effective_{dilation}": np.asarray(effective), f"theory_{dilation}": np.asarray(theory)})
    return out


def weight_gradient(run, cfg: dict, x) -> dict:
    """Autograd's weight gradient of a conv layer against the cross-correlation of input and error."""
    import torch

    from ..encoding import conv_weight_gradient

    k = cfg["kernel_size"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(run.seed)
        layer = torch.nn.Conv2d(1, cfg["channels"], k, padding=k // 2).double()
    y = layer(x)
    rate = torch.exp(0.1 * y)
    counts = torch.poisson(torch.ones_like(rate), generator=torch.Generator().manual_seed(run.seed))
    loss = (rate - counts * torch.log(rate)).sum()  # Poisson negative log-likelihood of the maps
    loss.backward()
    delta = (0.1 * (rate - counts)).detach()  # dL/dy, back-propagated by hand
    ours = conv_weight_gradient(x.detach().numpy(), delta.numpy(), kernel_size=k, padding=k // 2)
    grad = layer.weight.grad
    assert grad is not None, "loss.backward() filled it"
    auto = grad.numpy()
    return {"autograd": auto, "cross_correlation": ours,
            "max_abs_difference": np.max(np.abs(ours - auto)),
            "relative_difference": np.linalg.norm(ours - auto) / np.linalg.norm(auto)}


def decoding(run, cfg: dict) -> dict:
    """Bayes decoding of grating orientation with the true, a flat and a wrong prior, at several contrasts."""
    from ..encoding import (circular_mean_orientation, log_likelihood, orientation_error, orientation_population,
                            population_rates, posterior, von_mises_prior)

    cells = orientation_population(cfg["n_neurons"], cfg["decoder_size"], freq=cfg["decoder_freq"],
                                   sigma=cfg["decoder_sigma"], peak_rate=cfg["peak_rate"])
    thetas = np.arange(cfg["n_thetas"]) * np.pi / cfg["n_thetas"]
    phases = np.arange(cfg["n_phases"]) * 2 * np.pi / cfg["n_phases"]
    mean, kappa = np.radians(cfg["prior_mean_deg"]), cfg["prior_kappa"]
    priors = {"true prior": von_mises_prior(thetas, mean, kappa), "flat prior": von_mises_prior(thetas, 0.0, 0.0),
              "wrong prior": von_mises_prior(thetas, mean + np.pi / 2, kappa)}
    worlds = {"informative world": priors["true prior"], "uniform world": priors["flat prior"]}
    rng = np.random.default_rng([run.seed, 10])
    out = {"thetas": thetas, "contrasts": np.asarray(cfg["contrasts"], dtype=float)}
    example = len(cfg["contrasts"]) // 2  # the trial shown and the numbers quoted: the middle contrast
    for c_index, contrast in enumerate(cfg["contrasts"]):
        rates = population_rates(cells, thetas, phases, freq=cfg["decoder_freq"], contrast=contrast)
        if c_index == example:
            out["tuning"] = rates.mean(axis=1)
        for world, stimulus_prior in worlds.items():
            which = rng.choice(thetas.size, size=cfg["n_trials"], p=stimulus_prior)
            counts = rng.poisson(rates[which, rng.integers(0, phases.size, which.size)]).astype(float)
            loglik = log_likelihood(counts, rates)
            for name, prior in priors.items():
                post = posterior(loglik, prior)
                err = orientation_error(circular_mean_orientation(post, thetas), thetas[which])
                key = f"{world}|{name}"
                out.setdefault(f"error_deg|{key}", []).append(np.degrees(err).mean())
                out.setdefault(f"log_post_true|{key}", []).append(np.mean(np.log(post[np.arange(len(which)),
                                                                                   which] + 1e-300)))
                if c_index == example and world == "informative world":
                    out[f"example_posterior|{name}"] = post[0]
            if c_index == example and world == "informative world":
                out["example_likelihood"] = np.exp(loglik[0] - loglik[0].max())
                out["example_theta"] = thetas[which[0]]
                out["example_counts"] = counts[0]
    out["prior_true"], out["prior_wrong"] = priors["true prior"], priors["wrong prior"]
    return {k: np.asarray(v) for k, v in out.items()}


def compute(run) -> None:
    import torch

    from ..encoding import natural_patches

    cfg = run.config
    images = source_images(run)
    size = cfg["image_size"]
    patches = natural_patches(images, size, cfg["n_images"], random_state=run.seed)
    x = torch.as_tensor(patches).reshape(-1, 1, size, size)
    sym = symmetry(run, cfg, x)
    run.save_npz("symmetry.npz", **sym)
    counts = parameter_counts(cfg)
    run.save_csv("parameter_counts.csv", counts)
    erf = receptive_fields(run, cfg)
    run.save_npz("receptive_fields.npz", **erf)
    grad = weight_gradient(run, cfg, x)
    run.save_npz("weight_gradient.npz", **grad)
    dec = decoding(run, cfg)
    run.save_npz("decoding.npz", **dec)
    strides = cfg["pool_strides"]
    multiples = {s: sym["shift"] % s == 0 for s in strides}
    metrics = {
        "conv_circular_max_error": float(sym["equivariance_conv_circular"].max()),
        "conv_zeros_max_error": float(sym["equivariance_conv_zeros"].max()),
        "conv_zeros_interior_max_error": float(sym["equivariance_conv_zeros_interior"].max()),
        "global_pool_max_invariance_error": float(sym["invariance_global_pool"].max()),
        "conv_min_invariance_error": float(sym["invariance_conv"][1:].min()),
        "pool": {str(s): {"max_error_multiples": float(sym[f"equivariance_pool_{s}"][multiples[s]].max()),
                          "min_error_other_shifts": float(sym[f"equivariance_pool_{s}"][~multiples[s]].min())}
                 for s in strides},
        "parameter_ratio": [float(r) for r in counts["ratio"]],
        "parameter_ratio_equals_hw": bool(np.all(counts["ratio"] == counts["size"] ** 2)),
        "erf": {d: {"support": erf[f"support_{d}"].tolist(), "effective": erf[f"effective_{d}"].tolist(),
                    "theory": erf[f"theory_{d}"].tolist()} for d in DILATIONS},
        "weight_gradient_max_abs_difference": float(grad["max_abs_difference"]),
        "weight_gradient_relative_difference": float(grad["relative_difference"]),
        "decoding": {k: dec[k].tolist() for k in dec if k.startswith(("error_deg", "log_post_true"))},
        "contrasts": dec["contrasts"].tolist(),
    }
    run.save_json("metrics.json", metrics)


def plot_symmetry(sym: dict, strides, path) -> None:
    fig = new_figure(9.0, 3.2)
    left, right = fig.subplots(1, 2)
    s = sym["shift"]
    left.plot(s, sym["equivariance_conv_circular"], "o-", ms=3, label="conv, circular padding")
    left.plot(s, sym["equivariance_conv_zeros"], "s-", ms=3, label="conv, zero padding (whole map)")
    left.plot(s, sym["equivariance_conv_zeros_interior"], "x--", ms=4, label="conv, zero padding (interior)")
    for stride in strides:
        left.plot(s, sym[f"equivariance_pool_{stride}"], "^-", ms=3, label=f"conv + max-pool, stride {stride}")
    left.set_xlabel("input shift (pixels)")
    left.set_ylabel("equivariance error |f(T x) − T' f(x)| / |f(x)|")
    left.set_ylim(top=left.get_ylim()[1] * 1.45)
    left.legend(fontsize=6, ncol=2, loc="upper left")
    right.plot(s, sym["invariance_conv"], "o-", ms=3, label="conv + ReLU feature map")
    for stride in strides:
        right.plot(s, sym[f"invariance_pool_{stride}"], "^-", ms=3, label=f"max-pool, stride {stride}")
    right.plot(s, sym["invariance_global_pool"], "s-", ms=3, label="global average pool")
    right.set_xlabel("input shift (pixels)")
    right.set_ylabel("invariance error |f(T x) − f(x)| / |f(x)|")
    right.legend(fontsize=6)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot_parameters(counts: dict, path) -> None:
    fig = new_figure(4.5, 3.2)
    ax = fig.add_subplot()
    for key, label in (("conv", "convolution (shared weights)"), ("locally_connected", "locally connected"),
                       ("dense", "fully connected")):
        ax.loglog(counts["size"], counts[key], "o-", label=label)
    ax.set_xlabel("image size H = W (pixels)")
    ax.set_ylabel("trainable parameters")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    save_figure(fig, path)


def plot_receptive_fields(erf: dict, path) -> None:
    depths = erf["depth"]
    fig = new_figure(9.0, 5.6)
    grid = cast(np.ndarray, fig.subfigures(2, 1, height_ratios=[1.4, 1]))   # two: an array of them
    axes = grid[0].subplots(len(DILATIONS), len(depths))
    for i, d in enumerate(DILATIONS):
        for j, depth in enumerate(depths):
            m = erf[f"maps_{d}"][j]
            c, half = m.shape[0] // 2, min(m.shape[0] // 2, 40)
            image = axes[i, j].imshow(np.sqrt(m[c - half:c + half + 1, c - half:c + half + 1]), cmap="magma",
                                      vmin=0, vmax=1)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            if i == 0:
                axes[i, j].set_title(f"depth {depth}", fontsize=8)
            if j == 0:
                axes[i, j].set_ylabel("dilation 2^(l−1)" if d == "exponential" else f"dilation {d}", fontsize=7)
    grid[0].colorbar(image, ax=axes, shrink=0.8, label="sqrt(mean |∂y/∂x| / its peak)")
    ax = grid[1].subplots()
    for d in DILATIONS:
        line, = ax.plot(depths, erf[f"effective_{d}"], "o-", label=f"effective, dilation {d}")
        ax.plot(depths, erf[f"support_{d}"], "--", color=line.get_color(), lw=0.8,
                label=f"theoretical, dilation {d}")
    ax.set_yscale("log")
    ax.set_xlabel("depth (conv layers)")
    ax.set_ylabel("receptive field width (pixels)")
    ax.legend(fontsize=6, ncol=2)
    ax.grid(alpha=0.3, which="both")
    grid[0].suptitle("sqrt of mean |∂y_centre/∂x| (81x81 central crop)", fontsize=8)
    save_figure(fig, path)


def plot_gradient(grad: dict, path) -> None:
    fig = new_figure(4.0, 3.5)
    ax = fig.add_subplot()
    ax.scatter(grad["autograd"].ravel(), grad["cross_correlation"].ravel(), s=6)
    lim = np.abs(grad["autograd"]).max() * 1.05
    ax.plot([-lim, lim], [-lim, lim], "k", lw=0.6)
    ax.set_xlabel("autograd ∂L/∂W")
    ax.set_ylabel("cross-correlation of input and error")
    ax.set_title(f"max |difference| = {float(grad['max_abs_difference']):.1e}", fontsize=8)
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot_decoding(dec: dict, path) -> None:
    thetas = np.degrees(dec["thetas"])
    fig = new_figure(10.0, 3.2)
    a, b, c = fig.subplots(1, 3)
    for k in range(dec["tuning"].shape[1]):
        a.plot(thetas, dec["tuning"][:, k], lw=0.8)
    a.set_xlabel("grating orientation (deg)")
    a.set_ylabel(f"rate (spikes/bin), contrast {dec['contrasts'][len(dec['contrasts']) // 2]:g}")
    a.set_title("encoder: tuning curves p(n | θ)", fontsize=8)

    def density(p):  # probability per degree
        return p / (180.0 / len(thetas))

    b.plot(thetas, density(dec["example_likelihood"] / dec["example_likelihood"].sum()), "k--",
           label="likelihood (normalised)")
    b.plot(thetas, density(dec["prior_true"]), color="tab:green", lw=0.8, label="true prior")
    b.plot(thetas, density(dec["example_posterior|true prior"]), color="tab:green", lw=2, label="posterior, true prior")
    b.plot(thetas, density(dec["prior_wrong"]), color="tab:red", lw=0.8, label="wrong prior")
    b.plot(thetas, density(dec["example_posterior|wrong prior"]), color="tab:red", lw=2,
           label="posterior, wrong prior")
    b.axvline(np.degrees(float(dec["example_theta"])), color="k", lw=0.8)
    b.set_xlabel("orientation (deg)")
    b.set_ylabel("probability / deg")
    b.set_title("one trial: same spikes, different priors", fontsize=8)
    b.legend(fontsize=6)
    for key, style in (("informative world|true prior", "o-"), ("informative world|flat prior", "s-"),
                       ("informative world|wrong prior", "^-"), ("uniform world|flat prior", "o--"),
                       ("uniform world|true prior", "s--")):
        c.plot(dec["contrasts"], dec[f"error_deg|{key}"], style, ms=3, label=key.replace("|", ", decoded with "))
    c.set_xlabel("grating contrast")
    c.set_ylabel("mean |error| of posterior mean (deg)")
    c.legend(fontsize=5)
    for ax in (a, b, c):
        ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot(run) -> Section:
    cfg, m = run.config, run.load_json("metrics.json")
    paths = {n: run.figure_path(n) for n in ("symmetry", "parameters", "receptive_fields", "weight_gradient",
                                             "decoding")}
    plot_symmetry(run.load_npz("symmetry.npz"), cfg["pool_strides"], paths["symmetry"])
    counts = run.load_csv("parameter_counts.csv")
    plot_parameters(counts, paths["parameters"])
    plot_receptive_fields(run.load_npz("receptive_fields.npz"), paths["receptive_fields"])
    plot_gradient(run.load_npz("weight_gradient.npz"), paths["weight_gradient"])
    plot_decoding(run.load_npz("decoding.npz"), paths["decoding"])
    pool = "; ".join(f"stride {s}: max error {v['max_error_multiples']:.1e} at shifts that are multiples of {s}, "
                     f"at least {fmt(v['min_error_other_shifts'])} at the others" for s, v in m["pool"].items())
    counts_text = ", ".join(f"{int(s)}x{int(s)}: {int(c):,} vs {int(lc):,} (×{r:g})" for s, c, lc, r in zip(
        counts["size"], counts["conv"], counts["locally_connected"], counts["ratio"]))
    erf = m["erf"]
    depth = len(erf["1"]["effective"])
    erf_text = "; ".join(f"dilation {d}: effective width {fmt(e['effective'][0], 1)} → {fmt(e['effective'][-1], 1)} "
                         f"px, theoretical {int(e['theory'][0])} → {int(e['theory'][-1])} px (measured support "
                         f"{int(e['support'][-1])} px)" for d, e in erf.items())
    dec = m["decoding"]
    low = len(m["contrasts"]) // 2
    dec_text = (f"At contrast {m['contrasts'][low]:g}, with orientations drawn from the informative prior, the mean "
                f"error of the posterior mean is {fmt(dec['error_deg|informative world|true prior'][low], 1)}° with "
                f"the true prior, {fmt(dec['error_deg|informative world|flat prior'][low], 1)}° with a flat prior "
                f"and {fmt(dec['error_deg|informative world|wrong prior'][low], 1)}° with a prior centred 90° "
                f"away; mean log posterior of the true orientation "
                f"{fmt(dec['log_post_true|informative world|true prior'][low])}, "
                f"{fmt(dec['log_post_true|informative world|flat prior'][low])} and "
                f"{fmt(dec['log_post_true|informative world|wrong prior'][low])}. When orientations are uniform "
                f"instead, the flat prior gives {fmt(dec['error_deg|uniform world|flat prior'][low], 1)}° and the "
                f"informative prior {fmt(dec['error_deg|uniform world|true prior'][low], 1)}°. The encoder (the "
                "likelihood) is the same throughout: the best decoder depends on p(θ), which the encoding model "
                "does not contain.")
    text = "\n".join([
        f"- **Equivariance.** Max relative error over shifts 0–{cfg['max_shift']} px: circular-padded convolution "
        f"{m['conv_circular_max_error']:.1e}; zero-padded convolution {fmt(m['conv_zeros_max_error'], 3)} on the "
        f"whole map (boundary effects) and {m['conv_zeros_interior_max_error']:.1e} away from the borders.",
        f"- **Pooling.** {pool}.",
        f"- **Invariance.** Global average pooling: max invariance error {m['global_pool_max_invariance_error']:.1e}; "
        f"the conv feature map itself changes by at least {fmt(m['conv_min_invariance_error'])} for any non-zero "
        "shift.",
        f"- **Weight sharing.** Parameters of a {cfg['kernel_size']}x{cfg['kernel_size']} conv layer "
        f"({cfg['param_in_channels']}→{cfg['param_out_channels']} channels) vs the locally connected layer: "
        f"{counts_text}; the ratio equals H×W: {m['parameter_ratio_equals_hw']}.",
        f"- **Receptive fields** (3x3 kernels, depth 1 → {depth}): {erf_text}.",
        f"- **Learning rule.** The conv weight gradient computed as the cross-correlation of the layer input with "
        f"the back-propagated error matches autograd: max |difference| "
        f"{m['weight_gradient_max_abs_difference']:.1e} (relative {m['weight_gradient_relative_difference']:.1e}).",
        f"- **Encoding vs decoding.** {dec_text}",
    ])
    return Section("Architecture principles, measured", text, [
        (f"{paths['symmetry']}.png", "Equivariance (left) and invariance (right) errors against the input shift."),
        (f"{paths['parameters']}.png", "Parameter counts: convolution vs locally connected vs dense."),
        (f"{paths['receptive_fields']}.png", "Input-gradient maps of the centre unit and receptive-field widths "
                                             "against depth, for three dilation schedules."),
        (f"{paths['weight_gradient']}.png", "Conv weight gradient: cross-correlation against autograd."),
        (f"{paths['decoding']}.png", "Bayes decoding of orientation from an energy-neuron population: tuning, "
                                     "one trial's likelihood, priors and posteriors, and errors by contrast."),
    ])


register(Experiment(
    number="10", name="architecture", title="Architecture principles: symmetry, weight sharing, receptive fields, "
                                           "gradients, decoding",
    description=(
        "Each principle is a measured number. Shifts are circular (zero-filled for the zero-padded convolution); "
        "errors are relative Frobenius norms. Effective receptive fields are mean |∂y_centre/∂x| over Gaussian "
        "inputs to randomly initialised 3x3 conv stacks (width = 2 × RMS radius of the gradient mass; support = "
        "extent of non-zero gradient). The Bayes decoder combines the Poisson likelihood of an energy-neuron "
        "population (grating phase marginalised) with a von Mises prior over orientation."),
    defaults={"image_size": 32, "n_images": 8, "channels": 4, "kernel_size": 5, "max_shift": 8,
              "pool_strides": [2, 4], "param_in_channels": 3, "param_out_channels": 16,
              "param_sizes": [8, 16, 32, 64], "max_depth": 6, "erf_size": 129, "erf_samples": 16,
              "n_neurons": 16, "decoder_size": 16, "decoder_freq": 0.15, "decoder_sigma": 2.5, "peak_rate": 4.0,
              "n_thetas": 90, "n_phases": 8, "prior_mean_deg": 45.0, "prior_kappa": 2.0,
              "contrasts": [0.2, 0.3, 0.5, 0.7, 1.0], "n_trials": 4000},
    quick={"erf_samples": 4, "n_trials": 1000, "param_sizes": [8, 16, 32]},
    keys={"image_size": Key(int, "pixels", "side of the random images of the symmetry checks", low=4),
          "n_images": Key(int, "count", "random images of the symmetry checks", low=1),
          "channels": Key(int, "count", "output channels of the test convolutions", low=1),
          "kernel_size": Key(int, "pixels", "side of the test convolution kernels", low=1),
          "max_shift": Key(int, "pixels", "largest shift of the equivariance checks", low=0),
          "pool_strides": Key(list, "pixels", "max-pooling strides compared", item=int, low=1),
          "param_in_channels": Key(int, "count", "input channels of the layers whose parameters are counted", low=1),
          "param_out_channels": Key(int, "count", "output channels of the layers whose parameters are counted",
                                    low=1),
          "param_sizes": Key(list, "pixels", "input sides at which parameters are counted", item=int, low=1),
          "max_depth": Key(int, "count", "layers of the deepest conv stack in the receptive-field comparison", low=1),
          "erf_size": Key(int, "pixels", "side of the input on which effective receptive fields are measured",
                          low=3),
          "erf_samples": Key(int, "count", "random inputs averaged per effective receptive field", low=1),
          "n_neurons": Key(int, "count", "energy cells of the decoded population", low=2),
          "decoder_size": Key(int, "pixels", "side of the decoded gratings", low=2),
          "decoder_freq": Key(float, "cycles/pixel", "spatial frequency of the decoded gratings and cells", low=0.0,
                              high=0.5, low_open=True),
          "decoder_sigma": Key(float, "pixels", "standard deviation of the decoder cells' Gaussian envelope",
                               low=0.0, low_open=True),
          "peak_rate": Key(float, "spikes/bin", "rate above baseline of a cell at its preferred grating, full "
                           "contrast", low=0.0, low_open=True),
          "n_thetas": Key(int, "count", "orientations of the decoding grid over [0°, 180°)", low=2),
          "n_phases": Key(int, "count", "grating phases per orientation", low=1),
          "prior_mean_deg": Key(float, "degrees", "mean orientation of the informative (von Mises) prior", low=0.0,
                                high=180.0),
          "prior_kappa": Key(float, "dimensionless", "concentration of the informative prior", low=0.0),
          "contrasts": Key(list, "dimensionless", "grating contrasts (fractions of full contrast) decoded", item=float,
                           low=0.0, high=1.0, low_open=True),
          "n_trials": Key(int, "count", "decoding trials per contrast and world", low=1)},
    compute=compute, plot=plot))
