"""The ``effcode`` command line (also ``python -m effcode``).

    effcode list                               the experiments, one line each
    effcode run NN [NN ...] | all [--quick] [--set key=value ...] [--device cpu|cuda] [--seed S] [--n-jobs N]
    effcode figures [NN ...]                   redraw figures and results/REPORT.md from cached results
    effcode sweep --grid key=[v1,v2] ... [--file grid.yml] [--backend joblib|dask --scheduler ADDRESS]
    effcode score FILE [--name NAME] [--layer KEY]  score your own filter bank (.npy/.npz/torch) against V1
    effcode compile                            compile the numerical kernels once, at installation
    effcode --version                          the installed version

Errors in what you typed print as one line (exit status 2); add --debug for the traceback.

Start-up is kept under a second: this module imports only the standard library and effcode's light
layers at the top, and each command imports what it needs (torch, matplotlib, scikit-learn, the
experiments) in its own function, only when it needs it. ``effcode list`` and the config checks of
``effcode run`` read the experiments' declarations from a catalogue
(:mod:`effcode.runs.catalogue`) instead of importing the experiments.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
import warnings
from pathlib import Path

from . import __version__
from .errors import EffcodeError, InputError
from .progress import interactive
from .registry import Registry

#: the epilog of ``effcode --help`` (which names no option of a subcommand: each help text mentions only the
#: options its own command accepts, a test checks) and of ``effcode run --help``
EPILOG = ("Results go to RESULTS/NN_name/ (config.json, provenance.json, cached steps, metrics, figures/); "
          "`effcode figures` rebuilds RESULTS/REPORT.md from them in seconds. RESULTS is ./results for full "
          "runs and ./results/quick for quick runs, so a quick run never overwrites a full one.")
RUN_EPILOG = EPILOG.replace("for quick runs", "for --quick runs")
FULL_RESULTS, QUICK_RESULTS = "results", "results/quick"

#: the files the experiments' declarations are read from (a catalogue written from other versions of them is
#: not used), the catalogue shipped with the package, and the user's own, rewritten when those files change
EXPERIMENTS_FOLDER = Path(__file__).parent / "experiments"
DECLARATION_SOURCES = ("experiments/*.py", "runs/config.py", "runs/declaration.py")
PACKAGED_CATALOGUE = EXPERIMENTS_FOLDER / "catalogue.json"
USER_CATALOGUE_NAME = "experiments-catalogue.json"


def _add_common(parser: argparse.ArgumentParser, quick: bool = False) -> None:
    """The options every subcommand accepts; ``quick``: the subcommand has ``--quick`` (named in the help)."""
    default = f"./{FULL_RESULTS}, or ./{QUICK_RESULTS} with --quick" if quick else f"./{FULL_RESULTS}"
    parser.add_argument("--results", default=None, metavar="DIR", help=f"results folder (default: {default})")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or status lines")
    # SUPPRESS: a --debug given before the subcommand is not reset by the subcommand's default
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show full tracebacks on errors (before or after the command)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="effcode", description="Efficient-coding experiments: learn filters from natural images, "
        "score how Gabor-like they are and compare them with V1.", epilog=EPILOG)
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"effcode {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("list", help="list the experiments", description="List the numbered experiments.")
    _add_common(p)

    p = sub.add_parser("run", help="run experiments (cached steps are reused)",
                       description="Run one or more numbered experiments (or `all`). Steps whose parameters "
                       "did not change are loaded from the cache, so re-running is cheap and an interrupted "
                       "run resumes where it stopped.", epilog=RUN_EPILOG)
    p.add_argument("experiments", nargs="+", metavar="NN", help="experiment numbers, e.g. 01 3 or `all`")
    p.add_argument("--quick", action="store_true",
                   help="small sizes, same code paths (the whole suite in minutes on a laptop CPU)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key; values are YAML, e.g. --set n_filters=64 "
                        "--set objectives=[l1,topk]; see `effcode list --verbose` for the keys")
    p.add_argument("--device", default="cpu", help="torch device: cpu (default), cuda or cuda:N")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the config's, 0)")
    p.add_argument("--no-figures", action="store_true", help="compute only; draw later with `effcode figures`")
    p.add_argument("--force", action="store_true",
                   help="replace a run folder's results even when they were computed with other settings "
                        "(without it, such a rerun is refused, naming the settings that differ)")
    p.add_argument("--n-jobs", type=int, default=None, metavar="N",
                   help="run the experiments in N worker processes (-1: one per core), one torch thread each, "
                        "the longest first; the results are those of a serial run with one torch thread "
                        "(default: one per core when several experiments run on the CPU, else 1)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the sweep points of experiments that sweep (06, 07, 13) on the dask cluster at "
                        "ADDRESS, e.g. tcp://host:8786; image folders are sent to the workers")
    _add_common(p, quick=True)

    p = sub.add_parser("figures", help="redraw figures and REPORT.md from cached results",
                       description="Redraw the figures of the given experiments (default: all with results) "
                       "from cached results only, and rewrite RESULTS/REPORT.md.")
    p.add_argument("experiments", nargs="*", metavar="NN")
    p.add_argument("--quick", action="store_true", help=f"the quick suite's results (./{QUICK_RESULTS})")
    _add_common(p, quick=True)

    p = sub.add_parser("sweep", help="learn and score filters over a parameter grid (joblib or dask)",
                       description="Learn a filter bank at every point of a grid and score its `population` "
                       "with the one scorer (effcode.v1.score_population): median Gabor R², fractions above "
                       "0.7/0.8/0.9, the selection funnel (resolved, unresolved, in-grid units), nx–ny distance to "
                       "Ringach 2002 with its permutation p-value and null, median nx and ny, blob-like fraction, "
                       "mean tuning similarity and active fraction. Each finished point is "
                       "saved at once under RESULTS/sweeps/NAME/points/, so a killed sweep resumes where it "
                       "stopped; the table goes to RESULTS/sweeps/NAME/results.csv.",
                       epilog="Grid file (YAML or JSON): {method: sparse_coding, fixed: {n_filters: 64}, "
                              "grid: {objective: [l1, l0], lam: [0.1, 0.2], seed: [0, 1]}}. "
                              "Fixed keys: " + ", ".join(f"{k}={v!r}" for k, v in SWEEP_DEFAULTS.items()) +
                              "; any other key is a parameter of the learner.")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=[V1,V2,...]",
                   help="a grid axis (YAML list); repeat for a product grid")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="a fixed parameter for every point")
    p.add_argument("--file", help="YAML/JSON file with method, fixed and grid")
    p.add_argument("--method", default=None, help="learner (default: sparse_coding)")
    p.add_argument("--name", default=None, help="sweep folder name (default: a hash of the sweep)")
    p.add_argument("--backend", choices=("joblib", "dask"), default="joblib")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--n-jobs", type=int, default=1, help="joblib worker processes (-1: all cores)")
    p.add_argument("--device", default=None, help="torch device for every point (default: the sweep file's, or cpu)")
    p.add_argument("--force", action="store_true",
                   help="replace the results of a sweep folder (--name) that holds a sweep of another grid")
    _add_common(p)

    p = sub.add_parser("score", help="score a filter bank of your own against V1 and write its report",
                       description="Score the filters in FILE against V1 with the one scorer "
                       "(effcode.v1.score_population) and write a V1 report. FILE may be: a .npy array (K, p, p), "
                       "(K, p*p) with p*p square, or (out, in, k, k); a .npz archive (its only array, its "
                       "'filters' array, or --layer KEY); or a PyTorch file (any other suffix) read with "
                       "torch.load(weights_only=True): a tensor, a state dict saved with "
                       "torch.save(model.state_dict()), or a checkpoint dict holding one, from which the first "
                       "4-D tensor whose key ends in 'weight' (in the file's order: the first convolution of a "
                       "network defined input-first) is taken, or --layer KEY. Colour: " + SCORE_CHANNEL_RULE +
                       "; --channel-weights replaces the equal weights. The filters are scored as analysis "
                       "filters (population 'filters').",
                       epilog="Writes RESULTS/NAME/: REPORT.md (the selection funnel, median R², nx and ny, the "
                              "nx–ny distance to Ringach 2002 with its permutation test, the blob-like fraction, "
                              "the tuning similarities to V1, and the verdict on Ringach's 2002 published claim), "
                              "figures/ (filters, funnel, nxny, properties, similarity_table; PNG and PDF), "
                              "metrics.json, units.npz (per-unit fits and classes) and filters.npy (the filters "
                              "scored). RESULTS is ./results unless --results is given.")
    p.add_argument("file", metavar="FILE", help="the filter bank: .npy, .npz or a PyTorch checkpoint / state dict")
    p.add_argument("--name", default=None, help="report folder and label (default: FILE's name without suffix)")
    p.add_argument("--layer", default=None, metavar="KEY",
                   help="the entry to score: an .npz key or a state-dict key, e.g. conv1 or features.0.weight")
    p.add_argument("--channel-weights", default=None, metavar="W1,W2,...",
                   help="weights of a convolution's input channels, e.g. 0.299,0.587,0.114 (ITU-R BT.601)")
    p.add_argument("--r2-threshold", type=float, default=0.7, help="Gabor-like units: fit R² at least this (0.7)")
    p.add_argument("--pixels-per-degree", type=float, default=20.0,
                   help="assumed sampling of the filters, for tuning in degrees (20)")
    p.add_argument("--n-bootstrap", type=int, default=1000, help="bootstrap draws of the intervals (1000)")
    p.add_argument("--n-permutations", type=int, default=SCORE_PERMUTATIONS,
                   help=f"draws of the nx–ny permutation test ({SCORE_PERMUTATIONS})")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (0)")
    p.add_argument("--device", default="cpu", help="torch device of the Gabor fits: cpu (default), cuda or cuda:N")
    _add_common(p)

    p = sub.add_parser("compile", help="compile the numerical kernels once for this installation",
                       description="Compile effcode's numba kernels (coordinate descent, LCA, the Cauchy prox, "
                       "SAILnet's spiking network) into numba's on-disk cache, so that no fit pays the compilation "
                       "(a few seconds, once per installation). The README's install commands run it; running it "
                       "again only loads the cached kernels.")
    p.add_argument("--quiet", action="store_true", help="print nothing")

    p = sub.choices["list"]
    p.add_argument("--verbose", "-v", action="store_true", help="also show each experiment's config keys")
    p.add_argument("--write-catalogue", action="store_true",
                   help=f"for developers: rewrite the packaged catalogue of declarations "
                        f"({PACKAGED_CATALOGUE.relative_to(Path(__file__).parent.parent)}) from the experiments, so "
                        "that a fresh install lists and checks them without importing them")
    return parser


def _declaration_sources() -> list[Path]:
    root = Path(__file__).parent
    return sorted(path for pattern in DECLARATION_SOURCES for path in root.glob(pattern))


def _live_declarations() -> list:
    """The registered experiments themselves (importing them imports torch, matplotlib and scikit-learn)."""
    from .experiments import EXPERIMENTS

    return [EXPERIMENTS.get(number) for number in EXPERIMENTS.names()]


def _user_catalogue() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("effcode")) / USER_CATALOGUE_NAME


def declarations() -> Registry:
    """Every experiment's declaration (number -> :class:`~effcode.runs.declaration.Declaration`), read
    from the packaged or the user's catalogue when it was written from the current sources, else from
    the experiments (then cached in the user's catalogue)."""
    from .runs.catalogue import cached_declarations

    registry: Registry = Registry("experiment")
    for declaration in cached_declarations(sources=_declaration_sources(), build=_live_declarations,
                                           catalogues=[PACKAGED_CATALOGUE, _user_catalogue()]):
        registry.register(declaration.number, declaration)
    return registry


def _expand(keys, registry: Registry) -> list:
    return registry.names() if any(k == "all" for k in keys) else list(keys)


KEY_COLUMNS = ("key", "type", "default", "quick", "range", "units", "description")


def _aligned(rows: list[tuple], indent: str = "    ") -> list[str]:
    """Rows of text cells as lines with aligned columns (the last column is not padded)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [indent + "  ".join([cell.ljust(w) for cell, w in zip(row, widths)] + [row[-1]]).rstrip() for row in rows]


def key_table(exp) -> list[str]:
    """One line per config key of ``exp``: name, type, default, quick value ("-": as the default),
    allowed range, units and meaning."""
    defaults, quick, specs = exp.config(), exp.config(quick=True), exp.specs
    rows = [KEY_COLUMNS, tuple("-" * len(c) for c in KEY_COLUMNS)]
    for name, value in defaults.items():
        spec = specs[name]
        rows.append((name, spec.type_name, repr(value), repr(quick[name]) if quick[name] != value else "-",
                     spec.range_text, spec.units, spec.description))
    return _aligned(rows)


def _cmd_list(args) -> None:
    if args.write_catalogue:
        from .runs.catalogue import sources_digest, write_catalogue

        write_catalogue(PACKAGED_CATALOGUE, _live_declarations(), digest=sources_digest(_declaration_sources()))
    registry = declarations()
    for number in registry.names():
        exp = registry.get(number)
        print(f"{exp.slug:32s} {exp.title}")
        if args.verbose:
            print("\n".join(key_table(exp)) + "\n")


def _cmd_compile(args) -> None:
    from .learners.compiled import compile_all

    for name, seconds in compile_all().items():
        if not args.quiet:
            print(f"{name:46s} {seconds:6.2f} s")


def _results_dir(args) -> str:
    return args.results or (QUICK_RESULTS if getattr(args, "quick", False) else FULL_RESULTS)


def _with_seed(overrides: dict, seed) -> dict:
    return overrides if seed is None else {**overrides, "seed": seed}


def _check_seed(overrides: dict, seed) -> None:
    """``--seed`` and ``--set seed=`` given with different values is an input error (the same value is fine)."""
    if seed is not None and "seed" in overrides and overrides["seed"] != seed:
        raise InputError(f"--seed {seed} and --set seed={overrides['seed']} disagree; give one")


def _with_scheduler(exp, overrides: dict, scheduler: str | None) -> dict:
    """``overrides`` sending ``exp``'s sweep to the dask cluster at ``scheduler`` (for experiments that
    sweep; the others run here)."""
    if scheduler is None or "scheduler" not in exp.defaults:
        return overrides
    return {**overrides, "backend": "dask", "scheduler": scheduler}


def default_n_jobs(n_experiments: int, device: str) -> int:
    """Worker processes when ``--n-jobs`` is not given: one per core (-1) for several experiments on the
    CPU, else 1 (one experiment, or a GPU the workers would share)."""
    return -1 if n_experiments > 1 and str(device).startswith("cpu") else 1


def _cmd_run(args) -> None:
    from .runs import parse_assignments
    from .runs.config import check_n_jobs
    from .runs.declaration import find_declaration
    from .runs.run import check_settings
    from .validation import check_results_folder, resolve_device

    _check_seed(parse_assignments(args.overrides), args.seed)
    registry = declarations()
    found = [find_declaration(registry, k) for k in _expand(args.experiments, registry)]  # unknown numbers first
    overrides = {d.number: _with_scheduler(d, parse_assignments(args.overrides), args.scheduler) for d in found}
    configs = {d.number: {**d.config(quick=args.quick, overrides=_with_seed(overrides[d.number], args.seed)),
                          "quick": bool(args.quick)}
               for d in found}  # every experiment's config checked before any of them runs, before importing them
    n_jobs = default_n_jobs(len(found), args.device) if args.n_jobs is None else args.n_jobs
    check_n_jobs(n_jobs, "--n-jobs")
    resolve_device(args.device)
    check_results_folder(_results_dir(args))
    for d in found:   # no folder holding a run with other settings is replaced without --force
        check_settings(Path(_results_dir(args)) / d.slug, configs[d.number], force=args.force)
    if args.scheduler is not None:
        from .runs.sweep import connect

        connect(args.scheduler).close()   # an unreachable cluster is an error before anything runs
    from .experiments import run_experiments
    from .experiments.degenerate import run_warnings

    progress = interactive() and not args.quiet and n_jobs == 1
    if not args.quiet and n_jobs != 1:
        print(f"running {len(found)} experiments in {n_jobs if n_jobs > 0 else os.cpu_count()} worker processes, "
              f"the longest first (--n-jobs 1: one after the other, with progress bars)", flush=True)
    for number, run, seconds in run_experiments([d.number for d in found], n_jobs=n_jobs, quick=args.quick,
                                        overrides=overrides, device=args.device, seed=args.seed,
                                        results_dir=_results_dir(args), progress=progress,
                                        cost_folders=(FULL_RESULTS,) if args.quick else (),
                                        make_figures=not args.no_figures, force=args.force):
        messages = run_warnings(run)
        if not args.quiet:
            flag = f", {len(messages)} warning{'s' * (len(messages) != 1)} (degenerate result)" if messages else ""
            print(f"experiment {number}: done in {seconds:.1f} s{flag} -> {run.dir}/", flush=True)
        for message in messages:   # printed even with --quiet: a degenerate result is never silent
            print(f"experiment {number}: warning: {message}", file=sys.stderr, flush=True)
    if not args.quiet and not args.no_figures:
        print(f"figures: {_results_dir(args)}/*/figures/   report: {_results_dir(args)}/REPORT.md")


def _cmd_figures(args) -> None:
    from .experiments import EXPERIMENTS, regenerate_figures

    report = regenerate_figures(_expand(args.experiments, EXPERIMENTS) if args.experiments else None,
                                results_dir=_results_dir(args), progress=not args.quiet)
    if not args.quiet:
        print(f"report: {report}")


#: fixed keys of a sweep point and their defaults (other keys go to the learner); the last nine are the
#: one scorer's settings (the keys of ``effcode.experiments.common.SCORER_DEFAULTS``, kept literal here so
#: that ``effcode --help`` stays fast; a test checks they match)
SWEEP_DEFAULTS = {"method": "sparse_coding", "source": "default", "n_filters": 64, "patch_size": 16, "seed": 0,
                  "population": "measured_rf", "rf_stimulus": "hartley", "rf_n_stimuli": None, "r2_threshold": 0.7,
                  "interval_level": 0.95, "pixels_per_degree": 20.0, "n_bootstrap": 200, "n_permutations": 1999}


def _sweep_spec(args) -> tuple[dict, dict]:
    """The fixed keys and the grid of a sweep, from ``--file`` and the command line.  A key set in both
    places is refused in one line (the command line would otherwise override the file silently)."""
    from .errors import InputError
    from .runs import load_config_file, parse_assignments

    spec = load_config_file(args.file) if args.file else {}
    unknown = set(spec) - {"method", "fixed", "grid"}
    if unknown:
        raise InputError(f"sweep file {args.file!r} has unknown key(s) {sorted(unknown)}; "
                         "expected method, fixed, grid")
    for section, example in (("fixed", "{n_filters: 64}"), ("grid", "{lam: [0.1, 0.2]}")):
        if not isinstance(spec.get(section) or {}, dict):
            raise InputError(f"sweep file {args.file!r}: {section} must be a mapping of key: value such as "
                             f"{example}, got {spec[section]!r}")
    file_fixed = {**(spec.get("fixed") or {}), **({"method": spec["method"]} if spec.get("method") else {})}
    line_fixed = {**parse_assignments(args.overrides), **({"method": args.method} if args.method else {}),
                  **({"device": args.device} if args.device else {})}
    file_grid, line_grid = spec.get("grid") or {}, parse_assignments(args.grid)
    _refuse_both("fixed", file_fixed, line_fixed, args.file)
    _refuse_both("grid", file_grid, line_grid, args.file)
    grid = {**file_grid, **line_grid}
    if not grid:
        raise InputError("a sweep needs at least one --grid KEY=[V1,V2,...] (or a grid: section in --file)")
    return {**SWEEP_DEFAULTS, "device": "cpu", **file_fixed, **line_fixed}, grid


def _refuse_both(section: str, from_file: dict, from_line: dict, file) -> None:
    """One-line error naming the keys of ``section`` set both in the sweep file and on the command line."""
    from .errors import InputError

    both = sorted(set(from_file) & set(from_line))
    if both:
        settings = ", ".join(f"{key}={from_file[key]!r} in the file and {from_line[key]!r} on the command line"
                             for key in both)
        raise InputError(f"sweep file {file!r} and the command line both set {section} key(s) {settings}; "
                         "set each key in one place")


def _cmd_sweep(args) -> None:
    from pathlib import Path

    from .experiments.common import evaluate_point
    from .learners import LEARNERS
    from .runs import config_hash, expand_grid, run_sweep, write_csv, write_json
    from .runs.run import check_settings, folder_lock
    from .storage.publish import begin_staging, publish, recover
    from .v1.scorer import POPULATIONS
    from .validation import check_choice, check_results_folder, resolve_device

    fixed, grid = _sweep_spec(args)
    LEARNERS.get(fixed["method"])
    resolve_device(fixed["device"])
    points = expand_grid(grid, fixed)
    for point in points:  # fail fast, before any learning
        check_choice("population", point["population"], POPULATIONS)
    name = args.name or f"sweep-{config_hash({'fixed': fixed, 'grid': grid})[:10]}"
    folder = check_results_folder(Path(_results_dir(args)) / "sweeps" / name)
    spec = {"fixed": fixed, "grid": grid}
    with folder_lock(folder):   # the lock of run folders: a second sweep of this name waits for this one
        recover(folder)
        check_settings(folder, spec, force=args.force, record="sweep.json")
        rows = run_sweep(evaluate_point, points, folder, backend=args.backend, n_jobs=args.n_jobs, resumable=True,
                         scheduler=args.scheduler, progress=interactive() and not args.quiet)
        columns = list(dict.fromkeys(k for row in rows for k in row))
        staging = begin_staging(folder)   # sweep.json and results.csv are published together
        write_json(staging / "sweep.json", spec)
        write_csv(staging / "results.csv", {c: [str(r.get(c, "")) if isinstance(r.get(c), (dict, list))
                                                else r.get(c, "") for r in rows] for c in columns})
        publish(folder)
    if not args.quiet:
        print(f"{len(rows)} points -> {folder}/results.csv")


#: the colour rule and the default permutations of ``effcode score``, kept literal here so that ``effcode --help``
#: stays fast (:data:`effcode.v1.bank_file.CHANNEL_RULE` and :data:`effcode.v1.scorer.DEFAULT_PERMUTATIONS`; a test
#: checks they match)
SCORE_CHANNEL_RULE = ("input channels are averaged with equal weights: the unit's response to an achromatic "
                      "(R = G = B) stimulus, up to scale")
SCORE_PERMUTATIONS = 1999


def _channel_weights(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(w) for w in text.split(",")]
    except ValueError:
        raise InputError(f"--channel-weights must be numbers separated by commas, e.g. 0.299,0.587,0.114; "
                         f"got {text!r}") from None


def _cmd_score(args) -> None:
    path = Path(args.file)
    if not path.is_file():   # before the heavy imports
        raise InputError(f"no filter-bank file {args.file!r}" + (" (it is a folder)" if path.is_dir() else ""))
    name = args.name if args.name is not None else path.stem
    if not name or Path(name).name != name or name in (".", ".."):
        raise InputError(f"--name must be a folder name without '/', got {name!r}")
    weights = _channel_weights(args.channel_weights)
    from .experiments.bank_report import score_bank
    from .validation import resolve_device

    resolve_device(args.device)
    report = score_bank(path, name=name, results=_results_dir(args), layer=args.layer, channel_weights=weights,
                        r2_threshold=args.r2_threshold, pixels_per_degree=args.pixels_per_degree,
                        n_bootstrap=args.n_bootstrap, n_permutations=args.n_permutations, seed=args.seed,
                        device=args.device, progress=interactive() and not args.quiet)
    if not args.quiet:
        print(f"report: {report}   figures: {report.parent / 'figures'}/")


COMMANDS = {"list": _cmd_list, "run": _cmd_run, "figures": _cmd_figures, "sweep": _cmd_sweep, "score": _cmd_score,
            "compile": _cmd_compile}


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings as one line on the command line (the code location only under --debug)."""
    return f"effcode: warning: {message}\n"


def _show_status_messages(quiet: bool) -> None:
    """effcode's INFO log lines (e.g. a training resuming from its checkpoint) on stderr, unless ``--quiet``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("effcode: %(message)s"))
    logger = logging.getLogger("effcode")
    logger.handlers = [handler]
    logger.setLevel(logging.WARNING if quiet else logging.INFO)


#: OSError numbers of a disk that cannot take the files (full, over quota, over the file size limit)
DISK_FULL = {errno.ENOSPC: "no space left on the disk", errno.EDQUOT: "disk quota exceeded",
             errno.EFBIG: "file size limit reached (ulimit -f)"}
#: OSError numbers of a folder that cannot be written
NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def parse_keys(assignments) -> dict:
    """The keys of ``--set KEY=VALUE`` assignments, in order (values unparsed)."""
    return dict.fromkeys(item.partition("=")[0].strip() for item in assignments or ())


def _resource_error(exc: BaseException, *, set_keys: list[str]) -> str | None:
    """One line for an error of the machine rather than of effcode: a full disk, a folder that cannot be
    written, not enough memory (naming the keys the user set); None for any other error.  Every file is
    written atomically, so what was there before is intact and finished steps stay cached."""
    kept = "what was written before is intact and finished steps are cached"
    if isinstance(exc, MemoryError):
        lower = f"lower the sizes you set ({', '.join(set_keys)})" if set_keys else "use smaller settings"
        return f"not enough memory ({exc or 'allocation failed'}); {lower}"
    if not isinstance(exc, OSError):
        return None
    if exc.errno in DISK_FULL:
        return f"{DISK_FULL[exc.errno]} while writing {exc.filename}; {kept}: free space and run again"
    if exc.errno in NOT_WRITABLE:
        return (f"cannot write {exc.filename} ({exc.strerror}); make its folder writable or give --results "
                "another folder")
    return None


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _show_status_messages(quiet=getattr(args, "quiet", False))
    if not args.debug:
        warnings.formatwarning = _one_line_warning
    try:
        COMMANDS[args.command](args)
    except (EffcodeError, FileNotFoundError) as exc:
        if args.debug:
            raise
        print(f"effcode: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, MemoryError) as exc:
        message = _resource_error(exc, set_keys=list(parse_keys(getattr(args, "overrides", []))))
        if args.debug or message is None:
            raise
        print(f"effcode: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("effcode: interrupted; finished steps are cached and will be reused", file=sys.stderr)
        return 130
    return 0
