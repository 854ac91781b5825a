"""The commands in README.md and docs/*.md work as written on a fresh clone.

Every ``flask --app wallet ...`` names the project's own Flask (``.venv/bin/flask``: a fresh machine has no
``flask`` on its PATH) and an existing CLI command with the options it shows; every ``make X`` names a target of
the Makefile. The commands are read from fenced code blocks and from inline code spans.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FLASK = ".venv/bin/flask --app wallet"
BARE_FLASK = re.compile(r"(?<![/\w.-])flask --app\b")


def code_lines(text: str) -> list[str]:
    """The lines of fenced code blocks, then every inline code span (one line each)."""
    lines: list[str] = []
    fenced = False
    prose: list[str] = []
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            lines.append(line.strip())
        else:
            prose.append(line)
    lines += re.findall(r"`([^`\n]+)`", "\n".join(prose))
    return lines


def commands(prefix_re: str) -> list[tuple[str, str]]:
    """(file, the command from its program on) for every code line running ``prefix_re``."""
    found = []
    for path in DOCS:
        for line in code_lines(path.read_text()):
            for part in re.split(r"&&|;|(?<!\|)\|(?!\|)(?=\s)", line):  # a shell line may hold several commands
                m = re.match(rf"^\s*(?:[A-Z_]+=\S*\s+)*({prefix_re}.*)$", part)
                if m:
                    found.append((path.name, m.group(1).strip()))
    return found


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, re.M))


FLASK_LINES = commands(re.escape(FLASK))
MAKE_LINES = commands(r"make\s")


def test_the_documents_have_commands_to_check() -> None:
    assert len(FLASK_LINES) >= 15 and len(MAKE_LINES) >= 8
    assert 'VENV := .venv' in (ROOT / "Makefile").read_text()  # `make setup` makes the .venv/bin/flask they run


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_no_command_relies_on_a_flask_on_the_path(path: Path) -> None:
    bare = [line for line in code_lines(path.read_text()) if BARE_FLASK.search(line)]
    assert not bare, f"{path.name}: write {FLASK} ... (a fresh clone has no flask on the PATH): {bare}"


def resolve(app: Any, words: list[str]) -> tuple[list[str], click.Command, list[str]]:
    """The command path the words name (groups, then a command), the command, and the words left."""
    cmd: click.Command = app.cli
    path: list[str] = []
    rest = list(words)
    while isinstance(cmd, click.Group) and rest and not rest[0].startswith(("-", "[")):
        with click.Context(cmd) as ctx:
            sub = cmd.get_command(ctx, rest[0])
        assert sub is not None, f"no command {' '.join([*path, rest[0]])!r}"
        path.append(rest.pop(0))
        cmd = sub
    return path, cmd, rest


def option_names(words: list[str]) -> list[str]:
    """The options shown in a command line: ``[--grace SECONDS]`` -> --grace, ``--on|--off`` -> both."""
    out = []
    for word in words:
        for alternative in word.strip("[]").split("|"):
            if alternative.startswith("--"):
                out.append(alternative.split("=", 1)[0])
    return out


@pytest.mark.parametrize("where,line", FLASK_LINES, ids=[f"{w}:{line[len(FLASK):][:40]}" for w, line in FLASK_LINES])
def test_each_flask_command_exists_with_its_options(app: Any, where: str, line: str) -> None:
    words = shlex.split(line[len(FLASK):], comments=True)
    if not words:
        return  # the program alone ("`.venv/bin/flask --app wallet` finds create_app"): nothing to resolve
    path, cmd, rest = resolve(app, words)
    assert path and not isinstance(cmd, click.Group), f"{where}: {line!r} names a group, not a command"
    result = app.test_cli_runner().invoke(args=[*path, "--help"])
    assert result.exit_code == 0, f"{where}: {line!r}: {result.output}"
    known = {opt for param in cmd.params for opt in (*param.opts, *param.secondary_opts)}
    unknown = [o for o in option_names(rest) if o not in known]
    assert not unknown, f"{where}: {line!r}: {' '.join(path)} has no option {unknown} (it has {sorted(known)})"


@pytest.mark.parametrize("where,line", MAKE_LINES, ids=[f"{w}:{line[:30]}" for w, line in MAKE_LINES])
def test_each_make_command_is_a_target(where: str, line: str) -> None:
    words = shlex.split(line, comments=True)[1:]
    targets = [w for w in words if not w.startswith("-") and "=" not in w and w != "&"]
    assert targets, f"{where}: {line!r} names no target"
    missing = [t for t in targets if t not in make_targets()]
    assert not missing, f"{where}: {line!r}: no Makefile target {missing}"


def test_the_checks_catch_a_wrong_command(app: Any) -> None:
    with pytest.raises(AssertionError, match="no command"):
        resolve(app, ["agency", "no-such-command"])
    assert "--repair" in option_names(["[--repair]", "[--grace", "SECONDS]"])
    assert "no-such-target" not in make_targets() and {"run", "test", "setup", "openapi"} <= make_targets()
    assert BARE_FLASK.search("`flask --app wallet db upgrade`") and not BARE_FLASK.search(FLASK + " db upgrade")
