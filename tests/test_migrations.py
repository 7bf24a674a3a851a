"""Starting brings the schema up to date, also when several worker processes start at once."""
import multiprocessing

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from scheduling.store.db import MIGRATIONS, make_engine, upgrade_schema


def head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def _start(url: str) -> None:
    engine = make_engine(url)
    upgrade_schema(engine)
    engine.dispose()


@pytest.mark.slow(5)
def test_several_processes_migrating_at_once_end_with_one_schema(empty_database_url):
    database_url = empty_database_url
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_start, args=(database_url,)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head()]
    assert {"inbound_events", "outgoing_messages", "line_users", "conversation_states"} <= set(
        inspect(engine).get_table_names())
    upgrade_schema(engine)  # and again: nothing to do, no error
    engine.dispose()
