"""The stand-in keeps rich menus as LINE does: create, list, get, delete, the image, the default, per user,
aliases (bot/standin/richmenus.py)."""
import io
import json
import warnings

import pytest
from linebot.v3.messaging import PostbackAction, RichMenuArea, RichMenuBounds, RichMenuRequest, RichMenuSize
from PIL import Image

from bot.standin.server import create_standin_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TOKEN = "test-access-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
USER = "U" + "2" * 32


@pytest.fixture
def client():
    return TestClient(create_standin_app(channel_secret="s", access_token=TOKEN, webhook_url="http://bot/callback"))


def layout(name="menu", width=2500, height=843) -> str:
    return RichMenuRequest(
        size=RichMenuSize(width=width, height=height), selected=True, name=name, chat_bar_text="メニュー",
        areas=[RichMenuArea(bounds=RichMenuBounds(x=0, y=0, width=width // 2, height=height),
                            action=PostbackAction(label="産後ケア", data="menu:care"))]).to_json()


def png(width=2500, height=843, kind="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, kind)
    return out.getvalue()


def create(client, **kwargs) -> str:
    response = client.post("/v2/bot/richmenu", headers=AUTH, content=layout(**kwargs))
    assert response.status_code == 200, response.text
    return response.json()["richMenuId"]


def upload(client, menu_id, data=None, content_type="image/png"):
    return client.post(f"/v2/bot/richmenu/{menu_id}/content", content=png() if data is None else data,
                       headers={**AUTH, "Content-Type": content_type})


def test_create_list_get_delete(client):
    menu_id = create(client, name="a")
    assert menu_id.startswith("richmenu-")
    [listed] = client.get("/v2/bot/richmenu/list", headers=AUTH).json()["richmenus"]
    assert listed["richMenuId"] == menu_id and listed["name"] == "a"
    got = client.get(f"/v2/bot/richmenu/{menu_id}", headers=AUTH).json()
    assert got["areas"][0]["action"]["data"] == "menu:care" and got["chatBarText"] == "メニュー"
    assert client.delete(f"/v2/bot/richmenu/{menu_id}", headers=AUTH).status_code == 200
    assert client.get(f"/v2/bot/richmenu/{menu_id}", headers=AUTH).status_code == 404
    assert client.delete(f"/v2/bot/richmenu/{menu_id}", headers=AUTH).status_code == 404
    assert client.get("/v2/bot/richmenu/list", headers=AUTH).json() == {"richmenus": []}


@pytest.mark.parametrize("body, prop", [
    ('{"size": {"width": 2500, "height": 843}, "selected": true, "name": "x", "areas": []}', "chatBarText"),
    (layout(width=700, height=400), "size"),
    (json.dumps({**json.loads(layout()), "chatBarText": "あ" * 15}), "chatBarText"),
    (layout().replace('"x": 0', '"x": 2000'), "areas[0].bounds"),
])
def test_a_bad_layout_is_refused_with_the_field(client, body, prop):
    response = client.post("/v2/bot/richmenu", headers=AUTH, content=body.encode())
    assert response.status_code == 400
    assert prop in " ".join(d["property"] for d in response.json()["details"])
    assert client.get("/v2/bot/richmenu/list", headers=AUTH).json() == {"richmenus": []}


def test_rich_menu_calls_need_the_token(client):
    assert client.post("/v2/bot/richmenu", content=layout()).status_code == 401
    assert client.get("/v2/bot/richmenu/list").status_code == 401


def test_the_image_must_fit_the_menu_and_is_uploaded_once(client):
    menu_id = create(client)
    assert upload(client, menu_id, content_type="image/gif").status_code == 415
    assert upload(client, menu_id, data=b"not an image").status_code == 400
    assert upload(client, menu_id, data=png(1200, 405)).status_code == 400
    assert upload(client, menu_id, data=png(kind="JPEG"), content_type="image/png").status_code == 400
    assert upload(client, "richmenu-" + "0" * 32).status_code == 404
    assert upload(client, menu_id).status_code == 200
    assert upload(client, menu_id).status_code == 400
    assert client.app.state.richmenus.image(menu_id)[0] == "image/png"


def test_default_needs_an_image_and_can_be_cancelled(client):
    menu_id = create(client)
    assert client.post(f"/v2/bot/user/all/richmenu/{menu_id}", headers=AUTH).status_code == 400
    assert client.get("/v2/bot/user/all/richmenu", headers=AUTH).status_code == 404
    upload(client, menu_id)
    assert client.post(f"/v2/bot/user/all/richmenu/{menu_id}", headers=AUTH).status_code == 200
    assert client.get("/v2/bot/user/all/richmenu", headers=AUTH).json() == {"richMenuId": menu_id}
    assert client.get(f"/_standin/richmenu/{USER}").json()["richmenu"]["richMenuId"] == menu_id
    assert client.delete("/v2/bot/user/all/richmenu", headers=AUTH).status_code == 200
    assert client.get("/v2/bot/user/all/richmenu", headers=AUTH).status_code == 404
    assert client.get(f"/_standin/richmenu/{USER}").json() == {"richmenu": None}


def test_link_unlink_and_what_she_sees(client):
    default, hers = create(client, name="default"), create(client, name="hers")
    for menu_id in (default, hers):
        upload(client, menu_id)
    client.post(f"/v2/bot/user/all/richmenu/{default}", headers=AUTH)
    assert client.get(f"/v2/bot/user/{USER}/richmenu", headers=AUTH).status_code == 404
    assert client.post(f"/v2/bot/user/{USER}/richmenu/richmenu-{'0' * 32}", headers=AUTH).status_code == 404
    assert client.post(f"/v2/bot/user/{USER}/richmenu/{hers}", headers=AUTH).status_code == 200
    assert client.get(f"/v2/bot/user/{USER}/richmenu", headers=AUTH).json() == {"richMenuId": hers}
    assert client.get(f"/_standin/richmenu/{USER}").json()["richmenu"]["name"] == "hers"
    assert client.delete(f"/v2/bot/user/{USER}/richmenu", headers=AUTH).status_code == 200
    assert client.get(f"/_standin/richmenu/{USER}").json()["richmenu"]["name"] == "default"
    client.post(f"/v2/bot/user/{USER}/richmenu/{hers}", headers=AUTH)
    client.delete(f"/v2/bot/richmenu/{hers}", headers=AUTH)  # LINE forgets the link with the menu
    assert client.get(f"/v2/bot/user/{USER}/richmenu", headers=AUTH).status_code == 404


def test_aliases_create_list_move_delete(client):
    first, second = create(client), create(client)
    body = {"richMenuAliasId": "hagukumi-pregnant", "richMenuId": first}
    assert client.post("/v2/bot/richmenu/alias", headers=AUTH, json=body).status_code == 400  # no image yet
    upload(client, first)
    assert client.post("/v2/bot/richmenu/alias", headers=AUTH, json=body).status_code == 200
    assert client.post("/v2/bot/richmenu/alias", headers=AUTH, json=body).json()["message"] == \
        "conflict richmenu alias id"
    bad = client.post("/v2/bot/richmenu/alias", headers=AUTH, json={**body, "richMenuAliasId": "Not Valid!"})
    assert bad.status_code == 400
    assert client.get("/v2/bot/richmenu/alias/list", headers=AUTH).json() == {"aliases": [body]}
    assert client.post("/v2/bot/richmenu/alias/hagukumi-pregnant", headers=AUTH,
                       json={"richMenuId": second}).status_code == 200
    assert client.get("/v2/bot/richmenu/alias/hagukumi-pregnant", headers=AUTH).json()["richMenuId"] == second
    assert client.delete("/v2/bot/richmenu/alias/hagukumi-pregnant", headers=AUTH).status_code == 200
    assert client.delete("/v2/bot/richmenu/alias/hagukumi-pregnant", headers=AUTH).status_code == 400
    assert client.get("/v2/bot/richmenu/alias/list", headers=AUTH).json() == {"aliases": []}


def test_reset_forgets_rich_menus(client):
    menu_id = create(client)
    upload(client, menu_id)
    client.post(f"/v2/bot/user/all/richmenu/{menu_id}", headers=AUTH)
    client.post("/_standin/reset")
    assert client.get("/v2/bot/richmenu/list", headers=AUTH).json() == {"richmenus": []}
    assert client.get(f"/_standin/richmenu/{USER}").json() == {"richmenu": None}
