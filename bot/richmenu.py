"""The city's rich menus on LINE: one per stage (config/richmenu.toml), drawn with Pillow, kept in step
by `hagukumi richmenu apply` and listed by `hagukumi richmenu show`.

A menu's name carries a hash of its layout and image, so apply makes nothing when nothing changed; a
changed menu is created, the stage's alias and (for not_registered) the default move to it, and the old
one is deleted. Mothers are linked to their stage's menu through its alias (bot/dispatcher.py), so the
alias is the one name the rest of the service knows.
"""
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    CreateRichMenuAliasRequest,
    MessagingApi,
    MessagingApiBlob,
    PostbackAction,
    RichMenuArea,
    RichMenuBounds,
    RichMenuRequest,
    RichMenuSize,
    UpdateRichMenuAliasRequest,
)
from linebot.v3.messaging.exceptions import ApiException
from PIL import Image, ImageDraw, ImageFont

from dialogs import catalog
from scheduling.city.richmenu_config import ALIAS_PREFIX, STAGES, RichMenuConfig, StageMenu, alias_of

NAME_PREFIX = ALIAS_PREFIX   # our menus' names start so; others' (made by hand) are left alone
WIDTH, ROW_HEIGHT, COLUMNS = 2500, 843, 3
IPA_GOTHIC = Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")   # Debian: fonts-ipafont-gothic
FONT_SIZE, PADDING = 110, 60
COLOURS = ("#fdf1e7", "#eef6ee")   # cells alternate: warm and soft green
INK, LINE_COLOUR = "#4a3b32", "#d8c8bb"


class RichMenuError(Exception):
    """A problem apply cannot go on with, said in one line."""


@dataclass(frozen=True)
class Drawn:
    stage: str
    request: RichMenuRequest   # its name carries the hash
    image: bytes
    content_type: str

    @property
    def name(self) -> str:
        return self.request.name


def font_file(config: RichMenuConfig) -> Path:
    """The city's font, else IPA Gothic; a clear error when neither is there."""
    for candidate in (config.font, IPA_GOTHIC):
        if candidate is not None and candidate.is_file():
            return candidate
    raise RichMenuError("no Japanese font to draw the rich menus with: install Debian's fonts-ipafont-gothic "
                        f"({IPA_GOTHIC}) or set font = \"FILE\" in the richmenu file")


def layout(menu: StageMenu) -> tuple[int, int, list[tuple[str, RichMenuBounds]]]:
    """(width, height, [(item, bounds)]): one row of up to three, else two rows of three."""
    columns = min(len(menu.items), COLUMNS)
    rows = -(-len(menu.items) // columns)
    height = ROW_HEIGHT * rows
    cells = []
    for index, item in enumerate(menu.items):
        row, column = divmod(index, columns)
        left, right = WIDTH * column // columns, WIDTH * (column + 1) // columns
        cells.append((item, RichMenuBounds(x=left, y=row * ROW_HEIGHT, width=right - left, height=ROW_HEIGHT)))
    return WIDTH, height, cells


def draw(menu: StageMenu, font: Path, language: str = catalog.DEFAULT_LANGUAGE) -> bytes:
    width, height, cells = layout(menu)
    image = Image.new("RGB", (width, height), "white")
    pen = ImageDraw.Draw(image)
    for index, (item, b) in enumerate(cells):
        box = (b.x, b.y, b.x + b.width - 1, b.y + b.height - 1)
        pen.rectangle(box, fill=COLOURS[(index + b.y // ROW_HEIGHT) % 2], outline=LINE_COLOUR, width=6)
        label, size = catalog.text(language, f"menu.{item}"), FONT_SIZE
        face = ImageFont.truetype(str(font), size)
        while pen.textlength(label, font=face) > b.width - 2 * PADDING and size > 40:
            size -= 6
            face = ImageFont.truetype(str(font), size)
        pen.text((b.x + b.width / 2, b.y + b.height / 2), label, font=face, fill=INK, anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def build(config: RichMenuConfig, stage: str, language: str = catalog.DEFAULT_LANGUAGE) -> Drawn:
    """The stage's menu as LINE gets it: layout, image, and a name that changes when either does."""
    menu = config.menu(stage)
    width, height, cells = layout(menu)
    if menu.image is not None:
        data = menu.image.read_bytes()
        with Image.open(io.BytesIO(data)) as given:
            if given.size != (width, height) or given.format not in ("PNG", "JPEG"):
                raise RichMenuError(f"{menu.image}: the {stage} image must be a {width}x{height} PNG or JPEG "
                                    f"({len(menu.items)} items), not a {given.size[0]}x{given.size[1]} {given.format}")
            content_type = "image/png" if given.format == "PNG" else "image/jpeg"
    else:
        data, content_type = draw(menu, font_file(config), language), "image/png"
    areas = [RichMenuArea(bounds=bounds, action=PostbackAction(label=catalog.text(language, f"menu.{item}"),
                                                               data=f"menu:{item}"))
             for item, bounds in cells]
    request = RichMenuRequest(size=RichMenuSize(width=width, height=height), selected=True, name="",
                              chat_bar_text=catalog.text(language, "richmenu.chat_bar"), areas=areas)
    digest = hashlib.sha256(request.to_json().encode() + data).hexdigest()[:16]
    request.name = f"{NAME_PREFIX}{stage}-{digest}"
    return Drawn(stage, request, data, content_type)


class _DataHostClient(ApiClient):
    """MessagingApiBlob names LINE's api-data host itself; this sends its calls to `data_host` (the stand-in
    serves both hosts on one base URL)."""

    def __init__(self, configuration: Configuration, data_host: str):
        super().__init__(configuration)
        self.data_host = data_host

    def call_api(self, *args, **kwargs):
        kwargs["_host"] = self.data_host
        return super().call_api(*args, **kwargs)


def data_host_for(base_url: str) -> str:
    return "https://api-data.line.me" if base_url.rstrip("/") == "https://api.line.me" else base_url


@dataclass
class Applied:
    created: list[str]      # stages whose menu was made now
    unchanged: list[str]
    deleted: list[str]      # names of menus removed (older layouts)


class RichMenus:
    """The calls apply and show make, through line-bot-sdk."""

    def __init__(self, *, base_url: str, access_token: str):
        configuration = Configuration(host=base_url, access_token=access_token)
        self._client = ApiClient(configuration)
        self._data_client = _DataHostClient(configuration, data_host_for(base_url))
        self.api, self.blob = MessagingApi(self._client), MessagingApiBlob(self._data_client)

    def close(self) -> None:
        self._client.close()
        self._data_client.close()

    def apply(self, config: RichMenuConfig) -> Applied:
        drawn = [build(config, stage) for stage in STAGES]
        ours = {menu.name: menu.rich_menu_id for menu in self.api.get_rich_menu_list().richmenus
                if menu.name.startswith(NAME_PREFIX)}
        aliases = {alias.rich_menu_alias_id: alias.rich_menu_id
                   for alias in self.api.get_rich_menu_alias_list().aliases}
        applied, keep = Applied([], [], []), set()
        for menu in drawn:
            alias = alias_of(menu.stage)
            menu_id = ours.get(menu.name)
            if menu_id is not None and aliases.get(alias) == menu_id:
                applied.unchanged.append(menu.stage)
            else:   # new, or half made by an interrupted run (no alias yet): made afresh
                menu_id = self.api.create_rich_menu(menu.request).rich_menu_id
                self.blob.set_rich_menu_image(menu_id, body=menu.image, _headers={"Content-Type": menu.content_type})
                if alias in aliases:
                    self.api.update_rich_menu_alias(alias, UpdateRichMenuAliasRequest(rich_menu_id=menu_id))
                else:
                    self.api.create_rich_menu_alias(CreateRichMenuAliasRequest(rich_menu_alias_id=alias,
                                                                               rich_menu_id=menu_id))
                applied.created.append(menu.stage)
            keep.add(menu_id)
            if menu.stage == "not_registered" and self.default() != menu_id:
                self.api.set_default_rich_menu(menu_id)
        for name, menu_id in ours.items():
            if menu_id not in keep:
                self.api.delete_rich_menu(menu_id)
                applied.deleted.append(name)
        return applied

    def default(self) -> str | None:
        try:
            return self.api.get_default_rich_menu_id().rich_menu_id
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def show(self) -> list[str]:
        """What LINE holds, as lines to print."""
        default = self.default()
        aliases: dict[str, list[str]] = {}
        for alias in self.api.get_rich_menu_alias_list().aliases:
            aliases.setdefault(alias.rich_menu_id, []).append(alias.rich_menu_alias_id)
        menus = self.api.get_rich_menu_list().richmenus
        lines = [f"{len(menus)} rich menu(s) on LINE; default: {default or 'none'}"]
        for menu in menus:
            marks = [f"alias {', '.join(aliases[menu.rich_menu_id])}"] if menu.rich_menu_id in aliases else []
            marks += ["default"] if menu.rich_menu_id == default else []
            lines.append(f"{menu.rich_menu_id}  {menu.name}  {menu.size.width}x{menu.size.height}  "
                         f"chat bar 「{menu.chat_bar_text}」" + (f"  ({'; '.join(marks)})" if marks else ""))
            for area in menu.areas:
                action = json.loads(area.action.to_json())
                lines.append(f"    {area.bounds.x},{area.bounds.y} {area.bounds.width}x{area.bounds.height}: "
                             f"{action.get('label', '')} → {action.get('data') or action.get('uri') or action.get('text')}")
        return lines
