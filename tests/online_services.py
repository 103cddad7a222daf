"""A local HTTP server that answers as TheDiscDb's GraphQL API and TMDb's API v3 do.

Shapes: TheDiscDb's from its published schema and the site's own query
(github.com/TheDiscDb/web, code/TheDiscDb.Client/GraphQL: schema.graphql and
Queries/GetDiscDetailByContentHash.graphql): {"data": {"mediaItems": {"nodes": [MediaItem]}}},
a GraphQL error as {"errors": [{"message"}]}. TMDb's from its API reference
(developer.themoviedb.org): search results {"page", "results", "total_pages",
"total_results"}, errors {"status_code", "status_message", "success": false}.

Every request is recorded (method, path, query, body), so a test can count them; `mode`
makes the server misbehave: "hang" (accepts, never answers), "500", "garbage".
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from urllib.parse import parse_qs, urlsplit

API_KEY = "0123456789abcdef0123456789abcdef"


def discdb_node(title: str, year: int, kind: str, content_hash: str, titles: list[dict], *,
                newer: bool = False, fmt: str = "DVD") -> dict:
    """A MediaItem holding one release with one disc; `titles` as the site gives them
    ({"index", "sourceFile", "duration": "h:mm:ss", "size", "segmentMap", "item"}).
    `newer`: the release's discs as ReleaseDisc objects wrapping a Disc."""
    disc = {"index": 1, "name": "Disc 1", "format": fmt, "contentHash": content_hash,
            "titles": titles}
    return {"title": title, "year": year, "type": kind,
            "externalids": {"tmdb": "1399", "imdb": "tt0944947"},
            "releases": [{"slug": f"{year}-{fmt.lower()}", "title": title, "year": year,
                          "discs": [{"index": 1, "disc": disc}] if newer else [disc]}]}


class Services:
    def __init__(self):
        self.discdb: dict[str, dict] = {}  # content hash -> MediaItem node
        self.tmdb_movies: list[dict] = []  # search/movie results, with "runtime" for movie/{id}
        self.tmdb_shows: list[dict] = []  # search/tv results
        self.tmdb_seasons: dict[tuple[int, int], list[dict]] = {}  # (id, n) -> episodes
        self.requests: list[dict] = []
        self.mode: str | None = None
        served = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status: int, body, content_type="application/json"):
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self, method):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                served.requests.append({"method": method, "path": parts.path,
                                        "query": parse_qs(parts.query), "body": body,
                                        "headers": dict(self.headers)})
                if served.mode == "hang":
                    time.sleep(30)
                    return
                if served.mode == "500":
                    return self._answer(500, b"<html>Internal Server Error</html>", "text/html")
                if served.mode == "garbage":
                    return self._answer(200, b"\x89PNG\r\n\x1a\n not json at all")
                if parts.path == "/graphql" and method == "POST":
                    return self._answer(*served.graphql(body))
                if parts.path.startswith("/3/"):
                    return self._answer(*served.tmdb(parts.path[3:], parse_qs(parts.query),
                                                     self.headers))
                self._answer(404, {"error": "no such page"})

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def env(self, **extra) -> dict:
        return {"DIGITIZER_DISCDB_URL": f"{self.url}/graphql",
                "DIGITIZER_TMDB_URL": f"{self.url}/3", "DIGITIZER_TMDB_API_KEY": API_KEY,
                **extra}

    # -- TheDiscDb ------------------------------------------------------------------
    def graphql(self, body: bytes):
        try:
            asked = json.loads(body)
            query, content_hash = asked["query"], asked["variables"]["hash"]
        except (ValueError, KeyError, TypeError):
            return 400, {"errors": [{"message": "Expected a JSON request body."}]}
        if "mediaItems" not in query or "contentHash" not in query:
            return 200, {"errors": [{"message": "The field `nothing` does not exist."}]}
        node = self.discdb.get(str(content_hash).upper())
        return 200, {"data": {"mediaItems": {"nodes": [node] if node else []}}}

    # -- TMDb -----------------------------------------------------------------------
    def tmdb(self, path: str, query: dict, headers):
        key = (query.get("api_key") or [""])[0]
        bearer = (headers.get("Authorization") or "").removeprefix("Bearer ")
        if API_KEY not in (key, bearer):
            return 401, {"status_code": 7, "success": False,
                         "status_message": "Invalid API key: You must be granted a valid key."}
        missing = {"status_code": 34, "success": False,
                   "status_message": "The resource you requested could not be found."}
        words = (query.get("query") or [""])[0].lower().split()
        if path in ("search/movie", "search/tv"):
            pool = self.tmdb_movies if path == "search/movie" else self.tmdb_shows
            field = "title" if path == "search/movie" else "name"
            found = [{k: v for k, v in r.items() if k != "runtime"} for r in pool
                     if words and all(w in r[field].lower() for w in words)]
            return 200, {"page": 1, "results": found, "total_pages": 1,
                         "total_results": len(found)}
        head, _, rest = path.partition("/")
        if head == "movie" and rest.isdigit():
            for r in self.tmdb_movies:
                if r["id"] == int(rest):
                    return 200, {"id": r["id"], "title": r["title"],
                                 "release_date": r.get("release_date"),
                                 "runtime": r.get("runtime"), "status": "Released"}
        if head == "tv":
            show, _, season = rest.partition("/season/")
            episodes = self.tmdb_seasons.get((int(show), int(season))) \
                if show.isdigit() and season.isdigit() else None
            if episodes is not None:
                return 200, {"_id": "5256c8c219c2956ff604858a", "air_date": "2011-04-17",
                             "name": f"Season {season}", "season_number": int(season),
                             "id": 3624, "episodes": episodes}
        return 404, missing

    def count(self, prefix: str = "") -> int:
        return sum(1 for r in self.requests if r["path"].startswith(prefix))
