"""The city's rich menus (config/richmenu.toml): which of the main menu's items each stage's menu shows,
in which order, and optionally the font or a ready-made image. Mistakes are reported as
'FILE:LINE: field.path: message'. Format: README (Rich menus).
"""
from dataclasses import dataclass
from pathlib import Path

from scheduling.rules import config_files
from scheduling.rules.loader import RulesError, _Checker, _join

# A mother's stage, as the rich menu sees it: not registered (or her data deleted, a pregnancy ended),
# pregnant, after the birth.
STAGES = ("not_registered", "pregnant", "after_birth")
ITEMS = ("care", "apply", "class", "bookings", "register", "consult", "help", "delete")   # the main menu's postbacks
MAX_ITEMS = 6   # two rows of three
ALIAS_PREFIX = "hagukumi-"   # each stage's menu is known on LINE by the alias hagukumi-<stage>


def alias_of(stage: str) -> str:
    return ALIAS_PREFIX + stage


class RichMenuConfigError(RulesError):
    pass


@dataclass(frozen=True)
class StageMenu:
    stage: str
    items: tuple[str, ...]
    image: Path | None = None   # the city's own image, drawn to the layout (see README)


@dataclass(frozen=True)
class RichMenuConfig:
    menus: tuple[StageMenu, ...]
    font: Path | None = None

    def menu(self, stage: str) -> StageMenu:
        return next(menu for menu in self.menus if menu.stage == stage)


def load_richmenu_config(path) -> RichMenuConfig:
    text, name = config_files.read(path, RichMenuConfigError)
    return parse_richmenu_config(text, name=name, folder=Path(path).parent)


def parse_richmenu_config(text: str, *, name: str = "richmenu.toml", folder: Path = Path(".")) -> RichMenuConfig:
    return config_files.parse(text, name, _Checker_(folder), RichMenuConfigError)


class _Checker_(_Checker):
    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder

    def config(self, data: dict) -> RichMenuConfig:
        self.table(data, "", ("font", "stages"), ("stages",))
        font = self.file(data, "font", "")
        stages = self.table(data.get("stages", {}), "stages", STAGES, STAGES if "stages" in data else ())
        menus = []
        for stage in STAGES:
            path = _join("stages", stage)
            table = self.table(stages[stage], path, ("items", "image"), ("items",)) if stage in stages else {}
            items = self.choices(table, "items", path, ITEMS, ()) if "items" in table else ()
            if "items" in table and not 1 <= len(items) <= MAX_ITEMS and isinstance(table["items"], list):
                self.error(_join(path, "items"), f"must list 1 to {MAX_ITEMS} items（1〜{MAX_ITEMS}個にしてください）")
            menus.append(StageMenu(stage, items, self.file(table, "image", path)))
        return RichMenuConfig(tuple(menus), font)

    def file(self, table: dict, key: str, path: str) -> Path | None:
        """A file named relative to the config file, which must exist."""
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.error(_join(path, key), "must be a file name as text（ファイル名を文字で）")
            return None
        found = self.folder / value
        if not found.is_file():
            self.error(_join(path, key), f"the file {value} does not exist（ファイルがありません）")
            return None
        return found
