"""TMDb (The Movie Database, developer.themoviedb.org, API v3): films and shows by name.

    GET {tmdb_url}/search/movie?query=...&year=YYYY   {"page", "results": [{"id", "title",
                                                       "original_title", "release_date"}],
                                                       "total_pages", "total_results"}
    GET {tmdb_url}/search/tv?query=...&first_air_date_year=YYYY
                                                      results: [{"id", "name",
                                                       "original_name", "first_air_date"}]
    GET {tmdb_url}/movie/{id}                         {"id", "title", "release_date",
                                                       "runtime" (minutes)}
    GET {tmdb_url}/tv/{id}/season/{n}                 {"season_number", "episodes":
                                                       [{"episode_number", "name",
                                                         "runtime" (minutes)}]}

Errors come as {"status_code", "status_message", "success": false} with HTTP 401 (a bad
key) or 404 (no such id). The key is `tmdb_api_key`: a v3 API key goes in the query
(``api_key``), a v4 read access token (a JWT, "eyJ...") as ``Authorization: Bearer``.
Answers are kept in the catalog by request (the key left out), so a disc asks once.

This product uses the TMDB API but is not endorsed or certified by TMDB.
"""

from __future__ import annotations

import json

RESULTS = 10  # candidates per search kept: enough for a person to find theirs in review


def enabled(cfg) -> bool:
    return bool(cfg.tmdb_api_key and cfg.tmdb_url)


def _get(cfg, path: str, params: dict, catalog=None):
    """The JSON answer of GET {tmdb_url}/{path}; None when TMDb does not have it, is off
    or did not answer (said once)."""
    from digitizer.services.client import Client
    from digitizer.services.http import query_string

    if not enabled(cfg):
        return None
    client = Client(cfg, "tmdb", catalog, label="TMDb")
    key = f"{path}?{query_string(dict(sorted(params.items())))}"
    kept = client.cached(key)
    if kept is not None:
        try:
            return json.loads(kept) if kept else None
        except ValueError:
            pass
    headers = {"Accept": "application/json"}
    token = cfg.tmdb_api_key
    if token.startswith("eyJ"):  # a v4 read access token (JWT)
        headers["Authorization"] = f"Bearer {token}"
    else:
        params = dict(params, api_key=token)
    answer = client.get_json(f"{cfg.tmdb_url.rstrip('/')}/{path}", params=params,
                             headers=headers)
    if answer is None:
        return None
    status, data = answer
    if status == 404:
        client.keep(key, b"", found=False)
        return None
    if status != 200 or not isinstance(data, dict):
        why = data.get("status_message") if isinstance(data, dict) else None
        client.unusable(f"answered HTTP {status}" + (f" ({why})" if why else ""))
        return None
    client.keep(key, json.dumps(data).encode())
    return data


def _year(date) -> int | None:
    text = str(date or "")[:4]
    return int(text) if text.isdigit() and int(text) > 1800 else None


def search(cfg, kind: str, query: str, year: int | None = None, catalog=None) -> list | None:
    """Candidates [{"kind", "id", "title", "year"}] for a film ("movie") or a show ("show");
    None when TMDb gave no answer."""
    if kind == "movie":
        data = _get(cfg, "search/movie", {"query": query, "year": year}, catalog)
    else:
        data = _get(cfg, "search/tv", {"query": query, "first_air_date_year": year}, catalog)
    if data is None:
        return None
    out = []
    for r in data.get("results") or []:
        if not isinstance(r, dict) or not isinstance(r.get("id"), int):
            continue
        title = r.get("title") if kind == "movie" else r.get("name")
        if not isinstance(title, str) or not title.strip():
            continue
        out.append({"kind": kind, "id": r["id"], "title": title.strip(),
                    "year": _year(r.get("release_date") if kind == "movie"
                                  else r.get("first_air_date"))})
    return out[:RESULTS]


def movie_runtime(cfg, movie_id: int, catalog=None) -> float | None:
    """A film's runtime in seconds (TMDb keeps minutes), None when unknown."""
    data = _get(cfg, f"movie/{int(movie_id)}", {}, catalog)
    runtime = (data or {}).get("runtime")
    return float(runtime) * 60 if isinstance(runtime, (int, float)) and runtime > 0 else None


def season_runtimes(cfg, show_id: int, season: int, catalog=None) -> list[float | None] | None:
    """The runtimes in seconds of a season's episodes in episode order (None where TMDb
    has none); None when TMDb does not have the season."""
    data = _get(cfg, f"tv/{int(show_id)}/season/{int(season)}", {}, catalog)
    episodes = (data or {}).get("episodes")
    if not isinstance(episodes, list):
        return None
    out = []
    for e in sorted((e for e in episodes if isinstance(e, dict)),
                    key=lambda e: e.get("episode_number") or 0):
        runtime = e.get("runtime")
        out.append(float(runtime) * 60 if isinstance(runtime, (int, float)) and runtime > 0
                   else None)
    return out
