"""`hrfevo run`: start an evolutionary search in a new run directory.

    hrfevo run [--preset P] [--config FILE] [--data SPEC] [--out DIR] [flags]
    hrfevo run ... --dry-run

Settings come from the preset, then the config file, then the flags (later ones win). The run
stops after --generations, or earlier at the first limit reached of --max-evaluations,
--time-limit and --cpu-limit (each checked between generations). The run directory holds the
config, a journal of every evaluation and a checkpoint per generation, so `hrfevo resume DIR`
continues it, to the same limits, after Ctrl-C, a kill or a crash. With --dry-run, nothing is
written: the resolved config is printed as YAML (usable as --config), with the evaluations
the run will make and their time, measured here on a few genomes of its space.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import textwrap
import time
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from hrfevo.commands.common import (
    LIMIT_FLAGS,
    add_config_flags,
    add_execution_flags,
    add_limit_flags,
    limits,
    naming_flags,
    resume_hint,
)
from hrfevo.presets import PRESETS
from hrfevo.strategies import STRATEGIES

if TYPE_CHECKING:
    from hrfevo.config import RunConfig
    from hrfevo.stop import Stop

OUT = "populations/{preset}-{time}-s{seed}"  # the default run directory; time: %Y%m%d-%H%M%S
SEARCH_FLAGS = ("data", "seed", "population", "generations", "strategy", "seeds")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_flags(p)
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="run directory to create (default: "
        + OUT.format(preset="<preset>", time="<YYYYmmdd-HHMMSS>", seed="<seed>")
        + ")",
    )
    p.add_argument("--population", type=int, metavar="N", help="genomes per generation")
    p.add_argument(
        "--generations",
        type=int,
        metavar="N",
        help="generations to run; with a limit below, whichever comes first",
    )
    p.add_argument(
        "--strategy",
        choices=list(STRATEGIES),
        help=f"how genomes are proposed (default: {next(iter(STRATEGIES))}; random is the "
        "baseline at the same budget)",
    )
    p.add_argument(
        "--seeds",
        nargs="+",
        metavar="SEED",
        help="generation-0 genomes: 'transformer' (the baseline), genome JSON files, run "
        "directories (their final front); random genomes fill the rest (default: the "
        "transformer where the space allows it)",
    )
    add_limit_flags(p, default="none")
    add_execution_flags(p, default="the preset's")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the resolved config (YAML) and the estimated evaluations and time, "
        "measured here on a few genomes; write nothing",
    )


def epilog() -> str:
    """The presets as they resolve (RunConfig defaults included): computed when shown."""
    lines = ["presets (a config file and flags override any of this):"]
    for name, size, executor, space, budget in presets_table():
        lines += [
            f"  {name:<6} {size} generations, {executor} executor",
            f"  {'':<6} space   {space}",
            f"  {'':<6} budget  {budget}",
        ]
    return "\n".join(lines)


def default_out(preset: str, seed: int) -> Path:
    return Path(OUT.format(preset=preset, time=time.strftime("%Y%m%d-%H%M%S"), seed=seed))


def main(args: argparse.Namespace) -> int:
    from hrfevo import config, run
    from hrfevo.estimate import per_generation
    from hrfevo.progress import Progress
    from hrfevo.stop import Stop

    flags = {k: getattr(args, k) for k in SEARCH_FLAGS + config.EXECUTION_FIELDS}
    cfg = config.resolve(args.preset, args.config, flags)
    with naming_flags():
        stop = Stop(cfg.generations, **limits(args))
    out = args.out or default_out(cfg.preset, cfg.seed)
    if args.dry_run:
        dry_run(cfg, out, stop)
        return 0
    problem, each = run.make_problem(cfg), per_generation(cfg)
    progress = Progress(problem, cfg.generations, out, each, stop=stop)
    with resume_hint(out, progress):
        run.start(cfg, out, progress, stop)
    failed = run.all_failed(out)
    if failed:  # finished, but with nothing to show: a script must not take it for a result
        print(f"hrfevo run: {failed}", file=sys.stderr)
        return 1
    where = f"at {run.stopped_by(out)}"  # which limit ended it
    print(f"run finished: {out}, {where}  (hrfevo status {shlex.quote(str(out))})")
    return 0


def dry_run(cfg: RunConfig, out: Path, stop: Stop) -> None:
    """Print the resolved config as YAML, then the estimate as YAML comments: the output is
    itself a config file for `hrfevo run --config` (the limits, flags only, are a comment)."""
    import yaml

    from hrfevo.estimate import describe, estimate
    from hrfevo.run import check_memory, seed_genomes

    seed_genomes(cfg)  # the seeds are checked as a real run checks them
    check_memory(cfg)  # before a genome of the space is built to measure it
    sys.stdout.write(yaml.safe_dump(cfg.to_dict(), default_flow_style=None, sort_keys=True))
    print(f"# dry run: nothing written; without --dry-run this creates {out}")
    given = {name: value for name, value in stop.limits().items() if value is not None}
    if given:
        shown = ", ".join(f"{LIMIT_FLAGS[name]} {value:g}" for name, value in given.items())
        print(f"# the run stops at {cfg.generations} generations, or earlier at {shown}")
    for line in describe(estimate(cfg), cfg):
        print(textwrap.fill(line, 98, initial_indent="# ", subsequent_indent="#     "))


PRESET_COLUMNS = ("preset", "population × generations", "executor", "space", "budget")


def presets_table() -> list[tuple[str, ...]]:
    """One row per preset, as it resolves (imports torch: call it when the help is shown)."""
    from hrfevo.config import resolve

    rows: list[tuple[str, ...]] = []
    for name in PRESETS:
        cfg = resolve(name, None, {})
        space, budget, ladder = cfg.space, cfg.train_config(), cfg.fidelity
        layers = "–".join(map(str, space.n_layers))
        bases = "–".join(map(str, space.n_bases))
        steps = f"{budget.steps} steps"
        if ladder:
            share = Fraction(ladder.promote).limit_denominator(100)
            early = f"rung 0 forecast from {ladder.forecast_from}; " if ladder.forecast_from else ""
            steps = f"{'/'.join(map(str, ladder.rungs))} steps ({early}best {share} promoted)"
        rows.append(
            (
                name,
                f"{cfg.population} × {cfg.generations}",
                cfg.executor,
                f"seq_len {space.seq_len}, d_model {'/'.join(map(str, space.d_model))}, "
                f"{layers} layers, {bases} bases",
                f"{steps}, batch {budget.batch_size}, lr {budget.lr:g}, "
                f"{budget.eval_tokens} eval tokens",
            )
        )
    return rows


def presets_markdown() -> str:
    """`presets_table()` as a Markdown table (the README's presets table is this, verbatim)."""
    lines = ["| " + " | ".join(PRESET_COLUMNS) + " |", "|" + "---|" * len(PRESET_COLUMNS)]
    lines += ["| " + " | ".join((f"`{r[0]}`", *r[1:])) + " |" for r in presets_table()]
    return "\n".join(lines)
