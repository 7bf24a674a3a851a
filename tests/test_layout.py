"""The repository's shape: it carries what it needs, and imports run one way.

bot -> dialogs -> scheduling, admin -> scheduling; nothing imports bot (bot may mount admin's pages).
"""
import ast
import re
from pathlib import Path

from tests.helpers import parse_python

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "dialogs", "scheduling", "admin")
# What each package may import besides itself.
MAY_IMPORT = {"bot": {"dialogs", "scheduling", "admin"}, "dialogs": {"scheduling"}, "scheduling": set(),
              "admin": {"scheduling"}}
CHECKED_FOLDERS = ("tests", "bot", "dialogs", "scheduling", "admin", "scripts", ".ci")
# A path into the sibling folder a developer's checkout may sit beside, written so this file does not match.
OUTSIDE = re.compile(r"\.\./" + "shared" + r"|[\"'/]" + "shared" + r"/line")


def python_files(package: str):
    return sorted(path for path in (ROOT / package).rglob("*.py") if "__pycache__" not in path.parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import in the file, relative ones resolved."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(parse_python(path)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            if node.module:
                name = ".".join(base + [node.module])
                folder = ROOT.joinpath(*name.split("."))
                # from package import module: the module is what is imported
                found += [(node.lineno, f"{name}.{alias.name}") if (folder / alias.name).is_dir()
                          or (folder / f"{alias.name}.py").is_file() else (node.lineno, name) for alias in node.names]
            else:  # from . import x: each name is a module
                found += [(node.lineno, ".".join(base + [alias.name])) for alias in node.names]
    return found


def wrong_way_imports() -> list[str]:
    wrong = []
    for package in ("dialogs", "scheduling", "admin", "bot"):
        for path in python_files(package):
            for line, name in imported_modules(path):
                top = name.split(".")[0]
                if top in PACKAGES and top != package and top not in MAY_IMPORT[package]:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return wrong


def test_imports_run_one_way():
    assert wrong_way_imports() == []


def test_the_import_check_sees_a_wrong_way_import(tmp_path, monkeypatch):
    """The check itself: a scheduling module importing dialogs, or a relative import reaching bot, is caught."""
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "scheduling" / "sub").mkdir()
    (tmp_path / "scheduling" / "sub" / "__init__.py").write_text("")
    (tmp_path / "scheduling" / "sub" / "fine.py").write_text("from . import other\nfrom ..db import x\n")
    (tmp_path / "scheduling" / "late.py").write_text("def f():\n    from dialogs.catalog import text\n")
    (tmp_path / "dialogs" / "up.py").write_text("import admin.web\nfrom scheduling import db\n")
    (tmp_path / "admin" / "page.py").write_text("from .. import bot\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert wrong_way_imports() == ["dialogs/up.py:1 imports admin.web", "scheduling/late.py:2 imports dialogs.catalog",
                                   "admin/page.py:1 imports bot"]


def test_nothing_refers_to_a_folder_outside_the_repository():
    """A clone has only the repository: no test, module or script may read the folder beside it."""
    offenders = []
    for folder in CHECKED_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            text = path.read_bytes().decode("utf-8", errors="replace")
            offenders += [f"{path.relative_to(ROOT)}:{number}" for number, line in enumerate(text.splitlines(), 1)
                          if OUTSIDE.search(line)]
    assert offenders == []


def test_the_outside_check_sees_a_reference():
    folder = "shared"
    assert OUTSIDE.search(f'SAMPLES = Path(__file__).parents[2] / "{folder}/line/webhook.json"')
    assert OUTSIDE.search(f"cat ../{folder}/notes.txt")
    assert not OUTSIDE.search("Tables shared by the figures page")


# scheduling's concept folders, lowest first: a folder imports only folders before it (and itself).
SCHEDULING_FOLDERS = ("store", "rules", "dates", "text", "safety", "city", "messaging", "accounts", "family", "applications",
                      "staff_needs", "care", "classes", "consult", "records", "reports", "chat")


def runtime_imports(path: Path) -> list[tuple[int, str]]:
    """imported_modules without those under `if TYPE_CHECKING:` (names for the type checker only)."""
    tree = parse_python(path)
    typing_only = {n.lineno for node in ast.walk(tree) if isinstance(node, ast.If)
                   and getattr(node.test, "id", "") == "TYPE_CHECKING" for n in ast.walk(node) if hasattr(n, "lineno")}
    return [(line, name) for line, name in imported_modules(path) if line not in typing_only]


def upward_imports() -> list[str]:
    wrong = []
    for path in python_files("scheduling"):
        parts = path.relative_to(ROOT / "scheduling").parts
        if len(parts) == 1:
            assert parts[0] == "__init__.py", f"scheduling/{parts[0]} belongs in a concept folder"
            continue
        assert parts[0] in SCHEDULING_FOLDERS, f"scheduling/{parts[0]}/ is not in SCHEDULING_FOLDERS"
        rank = SCHEDULING_FOLDERS.index(parts[0])
        for line, name in runtime_imports(path):
            bits = name.split(".")
            if bits[0] != "scheduling":
                continue
            if len(bits) == 1 or bits[1] not in SCHEDULING_FOLDERS or SCHEDULING_FOLDERS.index(bits[1]) > rank:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return wrong


def test_scheduling_folders_import_only_the_folders_below_them():
    assert upward_imports() == []


def test_the_folder_check_sees_an_upward_import(tmp_path, monkeypatch):
    for folder in ("store", "care", "chat"):
        (tmp_path / "scheduling" / folder).mkdir(parents=True)
        (tmp_path / "scheduling" / folder / "__init__.py").write_text("")
    (tmp_path / "scheduling" / "__init__.py").write_text("")
    (tmp_path / "scheduling" / "store" / "db.py").write_text("from scheduling.care import capacity\n")
    (tmp_path / "scheduling" / "care" / "capacity.py").write_text(
        "from typing import TYPE_CHECKING\nfrom scheduling.store import db\nif TYPE_CHECKING:\n"
        "    from scheduling.chat import desk\n")
    (tmp_path / "scheduling" / "chat" / "desk.py").write_text("from ..care import capacity\nimport scheduling\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert upward_imports() == ["scheduling/chat/desk.py:2 imports scheduling",
                                "scheduling/store/db.py:1 imports scheduling.care.capacity"]
