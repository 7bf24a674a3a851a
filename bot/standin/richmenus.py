"""The stand-in's rich menus, kept as LINE keeps them: menus with one image each, one default, a menu
per user, and aliases. Answers are (status, body) like the rest of the stand-in; errors are LINE's words.
"""
import io
import secrets
import threading

from PIL import Image, UnidentifiedImageError

IMAGE_LIMIT = 1024 * 1024  # LINE: JPEG or PNG, at most 1 MB
IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG"}
MAX_AREAS = 20
NOT_FOUND = (404, {"message": "Not found"})
NO_IMAGE = (400, {"message": "must upload richmenu image before applying it to user"})


def layout_problems(body: dict) -> list[dict]:
    """What LINE checks beyond the SDK model: every field present, the size in range, areas inside it."""
    details = [{"message": "Required", "property": key}
               for key in ("size", "selected", "name", "chatBarText", "areas") if key not in body]
    if details:
        return details
    size, areas = body["size"], body["areas"]
    for key, limit in (("name", 300), ("chatBarText", 14)):
        if len(body[key]) > limit:
            details.append({"message": f"Length must be between 0 and {limit}", "property": key})
    width, height = size.get("width", 0), size.get("height", 0)
    if not (800 <= width <= 2500 and height >= 250 and width / height >= 1.45):
        details.append({"message": "width 800 to 2500, height at least 250, width/height at least 1.45",
                        "property": "size"})
    if not 1 <= len(areas) <= MAX_AREAS:
        details.append({"message": f"Size must be between 1 and {MAX_AREAS}", "property": "areas"})
    for i, area in enumerate(areas):
        b = area.get("bounds") or {}
        if b.get("x", -1) < 0 or b.get("y", -1) < 0 or b.get("x", 0) + b.get("width", 0) > width \
                or b.get("y", 0) + b.get("height", 0) > height:
            details.append({"message": "The area is outside the rich menu", "property": f"areas[{i}].bounds"})
    return details


class RichMenus:
    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.menus: dict[str, dict] = {}
            self.images: dict[str, tuple[str, bytes]] = {}
            self.default: str | None = None
            self.links: dict[str, str] = {}  # user id -> rich menu id
            self.aliases: dict[str, str] = {}  # alias id -> rich menu id

    def create(self, body: dict) -> tuple[int, dict]:
        with self._lock:
            menu_id = "richmenu-" + secrets.token_hex(16)
            self.menus[menu_id] = {"richMenuId": menu_id, **body}
            return 200, {"richMenuId": menu_id}

    def all(self) -> tuple[int, dict]:
        with self._lock:
            return 200, {"richmenus": [dict(menu) for menu in self.menus.values()]}

    def get(self, menu_id: str) -> tuple[int, dict]:
        with self._lock:
            return (200, dict(self.menus[menu_id])) if menu_id in self.menus else NOT_FOUND

    def delete(self, menu_id: str) -> tuple[int, dict]:
        """LINE forgets the menu everywhere: the default, users' links (aliases keep pointing, as on LINE)."""
        with self._lock:
            if self.menus.pop(menu_id, None) is None:
                return NOT_FOUND
            self.images.pop(menu_id, None)
            if self.default == menu_id:
                self.default = None
            self.links = {user: linked for user, linked in self.links.items() if linked != menu_id}
            return 200, {}

    def upload(self, menu_id: str, content_type: str, data: bytes) -> tuple[int, dict]:
        kind = IMAGE_TYPES.get(content_type.split(";")[0].strip().lower())
        if kind is None:
            return 415, {"message": "The Content-Type must be image/png or image/jpeg"}
        if len(data) > IMAGE_LIMIT:
            return 413, {"message": "The image must be at most 1 MB"}
        try:
            image = Image.open(io.BytesIO(data))
            image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError):
            return 400, {"message": "The image could not be read"}
        with self._lock:
            menu = self.menus.get(menu_id)
            if menu is None:
                return NOT_FOUND
            if menu_id in self.images:
                return 400, {"message": "An image has already been uploaded to the richmenu"}
            if image.format != kind or (image.width, image.height) != (menu["size"]["width"], menu["size"]["height"]):
                return 400, {"message": "The image must be a "
                                        f"{menu['size']['width']}x{menu['size']['height']} {kind}"}
            self.images[menu_id] = (content_type, data)
            return 200, {}

    def image(self, menu_id: str) -> tuple[str, bytes] | None:
        with self._lock:
            return self.images.get(menu_id)

    # --- the default and per user
    def set_default(self, menu_id: str) -> tuple[int, dict]:
        with self._lock:
            if menu_id not in self.menus:
                return NOT_FOUND
            if menu_id not in self.images:
                return NO_IMAGE
            self.default = menu_id
            return 200, {}

    def get_default(self) -> tuple[int, dict]:
        with self._lock:
            return (200, {"richMenuId": self.default}) if self.default else (404, {"message": "no default richmenu"})

    def cancel_default(self) -> tuple[int, dict]:
        with self._lock:
            self.default = None
            return 200, {}

    def link(self, user_id: str, menu_id: str) -> tuple[int, dict]:
        with self._lock:
            if menu_id not in self.menus:
                return NOT_FOUND
            if menu_id not in self.images:
                return NO_IMAGE
            self.links[user_id] = menu_id
            return 200, {}

    def unlink(self, user_id: str) -> tuple[int, dict]:
        with self._lock:
            self.links.pop(user_id, None)
            return 200, {}

    def of_user(self, user_id: str) -> tuple[int, dict]:
        """Only a menu linked to her, as LINE answers (the default does not count)."""
        with self._lock:
            linked = self.links.get(user_id)
            return (200, {"richMenuId": linked}) if linked else (404, {"message": "the user has no richmenu"})

    def shown_to(self, user_id: str) -> dict | None:
        """What her LINE app shows: her own menu, else the default."""
        with self._lock:
            menu_id = self.links.get(user_id) or self.default
            return dict(self.menus[menu_id]) if menu_id in self.menus else None

    # --- aliases
    def create_alias(self, alias_id: str, menu_id: str) -> tuple[int, dict]:
        with self._lock:
            if alias_id in self.aliases:
                return 400, {"message": "conflict richmenu alias id"}
            if menu_id not in self.menus:
                return 400, {"message": "richmenu not found"}
            if menu_id not in self.images:
                return NO_IMAGE
            self.aliases[alias_id] = menu_id
            return 200, {}

    def update_alias(self, alias_id: str, menu_id: str) -> tuple[int, dict]:
        with self._lock:
            if alias_id not in self.aliases:
                return 400, {"message": "richmenu alias not found"}
            if menu_id not in self.menus:
                return 400, {"message": "richmenu not found"}
            self.aliases[alias_id] = menu_id
            return 200, {}

    def get_alias(self, alias_id: str) -> tuple[int, dict]:
        with self._lock:
            if alias_id not in self.aliases:
                return NOT_FOUND
            return 200, {"richMenuAliasId": alias_id, "richMenuId": self.aliases[alias_id]}

    def delete_alias(self, alias_id: str) -> tuple[int, dict]:
        with self._lock:
            if self.aliases.pop(alias_id, None) is None:
                return 400, {"message": "richmenu alias not found"}
            return 200, {}

    def all_aliases(self) -> tuple[int, dict]:
        with self._lock:
            return 200, {"aliases": [{"richMenuAliasId": alias, "richMenuId": menu}
                                     for alias, menu in self.aliases.items()]}
