"""The online services digitizer asks, one module each, over one client (client.py: cache, offline switch, warnings) and http.py
(the only user of urllib).

- ``discdb``: TheDiscDb's GraphQL API, a disc's record by its content hash.
- ``tmdb``: The Movie Database, a film or show by name, its runtime, a season's episodes.
- ``accuraterip``: the dBAR file of an audio CD (and its parse and verdict).
- ``musicbrainz``: an audio CD's album by its disc id.

Every one is optional: no URL (or ``online = false``, ``--offline``) means no request, and
no answer means the path digitizer takes without them (config, label, review), with one
warning line. Answers are kept in the catalog (catalog.py holds their SQL), so a disc asks
once. The steps ask TheDiscDb and TMDb through identity.py, never directly.
"""
