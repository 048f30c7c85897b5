#!/usr/bin/env python3
"""Regenerates the command-line listings in README.md from the binaries'
own --help, so the README cannot drift from the flags:

    cargo build --workspace && python3 scripts/readme-flags.py

Each `### `command`` heading between the FLAGS marker and "## Design
choices" is followed by a ```text block; that block is replaced with the
output of `target/debug/<command> --help`.
"""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = ROOT / "target" / "debug"


def help_text(command: str) -> str:
    program, *args = command.split()
    out = subprocess.run(
        [str(BIN / program), *args, "--help"],
        check=True, capture_output=True, text=True,
    ).stdout
    return out.rstrip() + "\n"


def main() -> int:
    text = README.read_text()
    start = text.index("<!-- FLAGS:")
    end = text.index("## Design choices", start)
    section = text[start:end]

    def replace(match: re.Match) -> str:
        return f"### `{match.group(1)}`\n\n```text\n{help_text(match.group(1))}```"

    section = re.sub(r"### `([^`]+)`\n\n```text\n.*?```", replace, section, flags=re.S)
    README.write_text(text[:start] + section + text[end:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
