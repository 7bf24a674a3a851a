"""A test city: a copy of config/ in a temporary folder, with its booking file replaced or its quiet hours
turned off, for tests that run the whole service (HAGUKUMI_CITY_CONFIG=the returned city.toml)."""
import re
import shutil
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "config"


def test_city(tmp_path: Path, *, booking: str | None = None, quiet_hours: bool = True) -> Path:
    folder = tmp_path / "config"
    shutil.copytree(CONFIG, folder)
    path = folder / "booking.toml"
    if booking is not None:
        path.write_text(booking, encoding="utf-8")
    if not quiet_hours:  # from 00:00 until 00:00 is never: pushes go whatever the hour of the run
        text, count = re.subn(r"^quiet_hours = .*$", 'quiet_hours = { from = "00:00", until = "00:00" }',
                              path.read_text(encoding="utf-8"), flags=re.M)
        if not count:
            text = text.replace("[policy]\n", '[policy]\nquiet_hours = { from = "00:00", until = "00:00" }\n', 1)
        path.write_text(text, encoding="utf-8")
    return folder / "city.toml"


test_city.__test__ = False  # not a test, despite its name
