"""The Datasette plugin of monitor: the /-/front-map page and its menu link; registered by `monitor.serve`."""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import quote

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.utils.asgi import Response

from monitor.datasette.front_map import FrontMap, draw_front_map, load_map_style, town_from_row

MAP_PATH = "/-/front-map"
MAP_QUERY = "front_map"
TOWN_QUERY = "town_articles"


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    """Serve the map of the front."""
    return [(rf"^{MAP_PATH}$", front_map_page)]


@hookimpl
def menu_links(datasette: Any) -> list[dict[str, str]]:
    """Put the map in Datasette's menu."""
    return [{"href": datasette.urls.path(MAP_PATH), "label": "Map of the front"}]


async def front_map_page(datasette: Any, request: Any) -> Response:
    """The map: the front_map canned query drawn as SVG, each town linking to its articles and claims."""
    database = datasette.get_database()
    queries = datasette.metadata("queries", database=database.name) or {}
    error = None
    front = FrontMap(0, 0, (), (), ())
    try:
        result = await database.execute(queries[MAP_QUERY]["sql"])
        front = draw_front_map([town_from_row(dict(row)) for row in result.rows], load_map_style())
    except (sqlite3.Error, QueryInterrupted, KeyError) as exc:
        # An archive from before the control tables existed: say so on the page instead of a 500.
        error = f"cannot draw the map: {exc}"
    town_page = datasette.urls.database(database.name) + f"/{TOWN_QUERY}?town="
    body = await datasette.render_template(
        "front_map.html",
        {"front": front, "error": error, "database": database.name,
         "town_url": lambda name: town_page + quote(name, safe="")},
        request=request,
    )
    return Response.html(body)
