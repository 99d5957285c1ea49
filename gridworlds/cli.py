"""The `gridworlds` command: list, run, eval, view, data, bench."""

from __future__ import annotations

import argparse
import os
import sys
from importlib import metadata

from gridworlds.extras import MissingExtra
from gridworlds.registry import WORLDS
from gridworlds.tables import format_table
from gridworlds.values import parse_key_values


def _list(args: argparse.Namespace) -> None:
    if args.experiments:
        _list_experiments()
        return
    rows = [("id", "kind", "observation space", "action space", "description")]
    rows += [(spec.id, spec.kind, *spec.spaces(), spec.description) for spec in WORLDS.values()]
    print(format_table(rows, numbers=False))


def _list_experiments() -> None:
    from gridworlds.runner.config import shipped_experiments

    rows = [("experiment", "what it is (the first sentence of its opening comment)")]
    rows += [(name, _first_sentence(path.read_text())) for name, path in shipped_experiments().items()]
    print(format_table(rows, numbers=False))


def _first_sentence(text: str) -> str:
    """The first sentence of a file's opening comment lines, which wrap mid-sentence."""
    opening = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        opening.append(line.removeprefix("#").strip())
    comment = " ".join(opening)
    end = comment.find(". ")
    return comment if end < 0 else comment[: end + 1]


def _run(args: argparse.Namespace) -> None:
    from gridworlds.runner import run_experiment

    run_experiment(
        args.experiment,
        overrides=args.set,
        seeds=args.seeds,
        resume=args.resume,
        overwrite=args.overwrite,
        runs_dir=args.runs_dir,
        ray_address=args.ray,
    )


def _eval(args: argparse.Namespace) -> None:
    from gridworlds.runner import evaluate_command

    evaluate_command(
        args.world,
        args.agent or ["random"],
        episodes=args.episodes,
        seed=args.seed,
        max_steps=args.max_steps,
        env_kwargs=parse_key_values(args.env, "--env", "opponent=alphabeta"),
    )


def _view(args: argparse.Namespace) -> None:
    from gridworlds.viewer.app import view

    env_kwargs = parse_key_values(args.env, "--env", "opponent=alphabeta")
    if args.record:
        from gridworlds.viewer.record import record

        summary = record(
            args.world,
            args.record,
            agent=args.agent or [],
            fps=args.fps,
            seed=args.seed,
            max_steps=args.max_steps,
            env_kwargs=env_kwargs,
            body=args.body,
        )
        print(f"recorded {summary['steps']} moves, {summary['frames']} frames, to {args.record}")
        return
    view(
        args.world,
        agent=args.agent,
        fps=args.fps,
        seed=args.seed,
        max_steps=args.max_steps,
        env_kwargs=env_kwargs,
        body=args.body,
    )


def _data(args: argparse.Namespace) -> None:
    from gridworlds.datasets.othello import data_command

    data_command(args.world, args.games, args.out, seed=args.seed, shard_games=args.shard_games)


def _bench(args: argparse.Namespace) -> None:
    from gridworlds.bench import run_world_bench

    training = parse_key_values(args.set, "--set", "threads=2") if args.training else None
    if args.set and not args.training:
        raise ValueError("--set applies to --training only")
    run_world_bench(args.world, quick=args.quick, training=training)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridworlds", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {metadata.version('gridworlds')}")
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="print every registered world, or the shipped experiments")
    listing.add_argument(
        "--experiments",
        action="store_true",
        help="print the experiments that ship with gridworlds instead: each name and what it is",
    )
    listing.set_defaults(func=_list)

    run = commands.add_parser("run", help="run an experiment")
    run.add_argument(
        "experiment",
        help="a shipped experiment's name (gridworlds list --experiments), or the path of a .toml file",
    )
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field, e.g. --set train.budget=1000 (repeatable)",
    )
    run.add_argument("--seeds", help="seeds to run, e.g. 0-3 or 0,2,5 (default: the file's)")
    run.add_argument("--resume", action="store_true", help="continue an interrupted run")
    run.add_argument("--overwrite", action="store_true", help="delete earlier results of this run")
    run.add_argument("--runs-dir", default="runs", help="where results go (default: runs/)")
    run.add_argument(
        "--ray",
        nargs="?",
        const="auto",
        default=None,
        metavar="ADDRESS",
        help="send the seeds to a Ray cluster (default address: auto)",
    )
    run.set_defaults(func=_run)

    evaluate = commands.add_parser("eval", help="evaluate an agent or a checkpoint on a world")
    evaluate.add_argument("world", help="world id, e.g. gridworlds/2048-v0")
    evaluate.add_argument(
        "--agent",
        action="append",
        help="agent name or checkpoint directory (default: random); multi-agent worlds take one per seat "
        "in order: Othello-v0 two, the first agent's results shown, colours swapping every game (it plays "
        "black in games 1, 3, 5 ...); hide-and-seek repeats the last for the seats left over",
    )
    evaluate.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="a world argument")
    evaluate.add_argument("--episodes", type=int, default=100)
    evaluate.add_argument("--seed", type=int, default=0, help="episode k is reset with seed + k")
    evaluate.add_argument(
        "--max-steps",
        type=int,
        default=0,
        help="cut each episode off after this many steps (0: never); an agent without action masks "
        "can repeat an illegal no-op move forever (an episode past 10,000 steps shows its step count)",
    )
    evaluate.set_defaults(func=_eval)

    view = commands.add_parser("view", help="open a window: play, or watch an agent play")
    view.add_argument("world", help="world id, e.g. gridworlds/2048-v0")
    view.add_argument(
        "--agent",
        action="append",
        help="agent name or checkpoint directory (default: you play); two-player worlds take one per "
        "seat in order, 'human' keeping a seat for you; worlds with a built-in opponent take it as that",
    )
    view.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="a world argument")
    view.add_argument(
        "--body",
        metavar="FILE",
        help="a robot body file (.txt letters or .json) for a voxel-robot world, e.g. gridworlds/Walker-v0",
    )
    view.add_argument(
        "--max-steps",
        "--steps",
        type=int,
        default=None,
        help="close after this many moves; with --record, the recording's moves "
        "(default 1000, or the game's end)",
    )
    view.add_argument(
        "--record",
        metavar="FILE",
        help="open no window: the agents (one for every seat) play one game, written to FILE (.gif, or .mp4 "
        "with imageio-ffmpeg installed) at --fps frames a second",
    )
    view.add_argument(
        "--fps",
        type=float,
        default=4.0,
        help="agent moves per second (+/- keys change it); a recording's frame rate",
    )
    view.add_argument("--seed", type=int, default=None)
    view.set_defaults(func=_view)

    data = commands.add_parser("data", help="write a dataset of games (resumable: rerun to continue)")
    data.add_argument("world", help="which games: othello")
    data.add_argument("--games", type=int, required=True, help="how many games in all")
    data.add_argument("--out", required=True, help="the dataset directory")
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("--shard-games", type=int, default=100_000, help="games per shard file")
    data.set_defaults(func=_data)

    bench = commands.add_parser("bench", help="measure a world's throughput and memory")
    bench.add_argument("world", help="world id, e.g. gridworlds/2048-v0")
    bench.add_argument("--quick", action="store_true", help="shorter measurements")
    bench.add_argument(
        "--training",
        action="store_true",
        help="measure the world's learner's training speed instead (2048: n-tuple TD)",
    )
    bench.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a training-benchmark argument, e.g. --set games=10000 --set patterns=4x6 --set threads=2",
    )
    bench.set_defaults(func=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, MissingExtra) as error:  # a missing extra is the user's to install: no traceback
        print(f"gridworlds {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gridworlds {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`gridworlds list | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141
    return 0


if __name__ == "__main__":
    sys.exit(main())
