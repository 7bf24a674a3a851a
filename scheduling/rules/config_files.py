"""Reading one of the city's TOML files with a checker, reporting every mistake as
'FILE:LINE: field.path: message' (the rules file does the same in scheduling/rules/loader.py)."""
import tomllib
from pathlib import Path

from scheduling.rules.loader import _LineIndex, toml_error


def read(path, error_class) -> tuple[str, str]:
    """(text, name) of the file, or error_class naming it when it does not exist."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8"), path.name
    except FileNotFoundError:
        raise error_class([f"{path.name}: the file does not exist（ファイルがありません）"]) from None


def parse(text: str, name: str, checker, error_class):
    """Check the TOML text with `checker` (a loader._Checker with a `config(data)` method)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise error_class([toml_error(text, name, error)]) from None
    config = checker.config(data)
    if checker.errors:
        lines = _LineIndex(text)
        located = sorted((lines.find(p), n, p, m) for n, (p, m) in enumerate(checker.errors))
        raise error_class([f"{name}:{line}: {p}: {m}" for line, _, p, m in located])
    return config
