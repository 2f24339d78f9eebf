"""The command line as a whole: its entry points, the options every command offers, and
user mistakes reported in one line (the commands' work is tested beside each stage)."""

from __future__ import annotations

import math
import subprocess
import sys
from importlib.metadata import entry_points

import pandas as pd
import pytest
from click.testing import CliRunner

from bandprint.cli import main
from bandprint.cli.output import records, text_table
from bandprint.store import Workspace

#: Every command and its option flags. Shared option decorators must not add, drop or rename
#: an option of any command; a change here is a change of the command line's interface.
OPTIONS = {
    "cluster": ["--embedding", "--format", "--group-eps", "--map-out", "--max-cluster-fraction",
                "--min-cluster-size", "--min-dist", "--min-samples", "--model", "--n-neighbors",
                "--no-root", "--p", "--root", "--seed", "--strategy", "--top"],
    "compute": ["--2d", "--address", "--basis", "--bulk", "--engine", "--kspacing", "--out",
                "--path-points", "--quiet", "--retry-failed", "--smearing", "--time-limit",
                "--workers", "-q"],
    "demo": ["--corpus", "--n", "--seed"],
    "duplicates": ["--address", "--engine", "--format", "--k-mad", "--model", "--out", "--p",
                   "--same-formula-only", "--sharded", "--show", "--threshold"],
    "find": ["--cluster", "--flat", "--format", "--formula", "--gap-max", "--gap-min",
             "--insulator", "--metal", "--plane-flat", "--strip"],
    "fingerprint": ["--2d", "--address", "--all", "--batch-size", "--bulk", "--device",
                    "--energy-reference", "--engine", "--keep-path", "--model", "--quiet", "-q"],
    "flatbands": ["--all-segments", "--detector", "--format", "--in-plane", "--quiet",
                  "--strip-width", "--threshold", "--window", "-q"],
    "ingest": ["--address", "--efermi", "--engine", "--into", "--quiet", "--shard-size", "--soc",
               "--strict", "--workers", "-q"],
    "list": ["--format"],
    "reconstruct": ["--model", "--out", "--seed"],
    "render": ["--2d", "--bulk", "--energy-reference", "--keep-path", "--line-width", "--model",
               "--out", "--size", "--spins", "--window", "--x-axis"],
    "report": ["--clusters", "--exemplars", "--model", "--out", "--quiet", "--thumbnails", "-q"],
    "serve": ["--host", "--model", "--port", "--verbose", "-v"],
    "show": ["--2d", "--bulk", "--energy-reference", "--keep-path", "--out", "--window"],
    "similar": ["--address", "--engine", "--format", "--index", "--model", "--model-file", "--p",
                "--sharded", "-k"],
    "structures": ["--format", "--min-cluster-size", "--min-samples", "--quiet", "--seed",
                   "--workers", "-q"],
    "sweep": ["--format", "--min-cluster-size", "--min-samples", "--model", "--no-root", "--out",
              "--p", "--quiet", "--root", "--seed", "--strategy", "-q"],
    "train": ["--2d", "--batch-size", "--bulk", "--checkpoint", "--device", "--energy-reference",
              "--epochs", "--half", "--keep-path", "--loss", "--lr", "--out", "--precision",
              "--preset", "--quiet", "--resume", "--seed", "--threads", "--val-fraction", "-q"],
    "traverse": ["--channel", "--deltas", "--model", "--out", "--pos"],
    "zoo": ["--families", "--force", "--list", "--n", "--quiet", "--seed", "-q"],
}  # fmt: skip


def test_every_command_keeps_its_options_and_its_help():
    assert sorted(main.commands) == sorted(OPTIONS)
    runner = CliRunner()
    for name, command in main.commands.items():
        flags = sorted(o for p in command.params for o in p.opts + p.secondary_opts if o[0] == "-")
        assert flags == OPTIONS[name], name
        shown = runner.invoke(main, [name, "--help"], terminal_width=200)
        assert shown.exit_code == 0, shown.output
        assert command.help and command.help.split("\n")[0][:40] in shown.output
        for flag in OPTIONS[name]:
            assert flag in shown.output, (name, flag)


def test_shared_options_read_the_same_in_every_command():
    """One decorator per shared option: its help and default are the same wherever used."""

    def option(command: str, flag: str) -> tuple:
        (p,) = [p for p in main.commands[command].params if flag in p.opts]
        return (p.name, p.help, p.default, repr(p.type), p.show_default)

    for flag, commands in {
        "--p": ["cluster", "sweep", "similar"],
        "--format": ["list", "cluster", "sweep", "similar", "duplicates", "flatbands", "find"],
        "--min-samples": ["cluster", "structures"],
        "--keep-path": ["show", "render", "train", "fingerprint"],
        "--engine": ["ingest", "fingerprint", "duplicates", "similar", "compute"],
        "--sharded": ["duplicates", "similar"],
    }.items():
        assert len({option(c, flag) for c in commands}) == 1, flag
    assert option("report", "--model") == option("serve", "--model")
    assert option("cluster", "--model")[0] == "model_id"  # a model id, not a file


def test_entry_points_start_the_same_command():
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "bandprint"]
    assert script.value == "bandprint.cli:main"
    assert script.load() is main
    out = subprocess.run(
        [sys.executable, "-m", "bandprint", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "Electronic fingerprints of band structures" in out
    assert all(f"  {name} " in out or f"  {name}\n" in out for name in OPTIONS)


@pytest.fixture()
def empty_ws(tmp_path):
    return str(Workspace(tmp_path / "ws", create=True).path)


def _one_line_error(args: list[str], expected: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, (args, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
    assert expected in lines[0], (args, lines[0])
    assert "Traceback" not in result.output


WORKSPACE_COMMANDS = [
    ["list"],
    ["show", "X"],
    ["render", "X", "--out", "x.png"],
    ["reconstruct", "X", "--out", "x.png"],
    ["traverse", "X", "--channel", "0", "--pos", "1,1", "--out", "x.png"],
    ["cluster"],
    ["sweep"],
    ["similar", "X"],
    ["duplicates"],
    ["flatbands"],
    ["find", "--flat"],
]


@pytest.mark.parametrize("args", WORKSPACE_COMMANDS, ids=lambda a: a[0])
def test_a_missing_workspace_is_one_line(args, tmp_path):
    missing = str(tmp_path / "nowhere")
    _one_line_error([args[0], missing, *args[1:]], f"no workspace at {missing}")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["show", "{ws}", "X", "--window", "-1"], "--window must be positive"),
        (["render", "{ws}", "X", "--out", "x.png", "--window", "1"], "--window needs 2"),
        (["render", "{ws}", "X", "--out", "x.png", "--window", "a,b"], "comma-separated"),
        (
            ["traverse", "{ws}", "X", "--channel", "0", "--pos", "1.5,2", "--out", "x.png"],
            "--pos must be two integers",
        ),
        (["sweep", "{ws}", "--min-samples", "2-x"], "--min-samples: expected LO-HI"),
        (["flatbands", "{ws}", "--window", "1"], "--window must be LO,HI"),
        (["flatbands", "{ws}", "--detector", "image", "--threshold", "0.2"], "--threshold sets"),
        (["find", "{ws}", "--strip", "0"], "--strip must be strip numbers"),
        (["ingest", "{ws}", "--into", "{ws}", "--workers", "0"], "--workers must be at least 1"),
        (["ingest", "{ws}", "--into", "{ws}", "--address", "auto"], "--address needs --engine"),
        (["zoo"], "give the output folder"),
        (["show", "{ws}", "X"], "X"),  # an id the workspace does not hold
    ],
    ids=lambda v: v[0] if isinstance(v, list) else None,
)
def test_bad_option_values_are_one_line(args, expected, empty_ws):
    _one_line_error([a.replace("{ws}", empty_ws) for a in args], expected)


def test_text_table_and_json_records():
    df = pd.DataFrame(
        {"material_id": ["a", "bb"], "gap": [1.23456, math.nan], "metal": [False, True]}
    )
    lines = text_table(df, {"material_id": "id", "gap": "gap", "metal": "metal"}).splitlines()
    assert lines[0].split() == ["id", "gap", "metal"]
    assert lines[2].split() == ["a", "1.235", "no"]
    assert lines[3].split() == ["bb", "-", "yes"]
    assert lines[2].index("1.235") + 5 == lines[3].index("-") + 1  # numbers right-aligned
    assert records(df) == [
        {"material_id": "a", "gap": 1.23456, "metal": False},
        {"material_id": "bb", "gap": None, "metal": True},
    ]
