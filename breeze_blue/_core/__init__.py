"""The sans-I/O core: what a download does, decided without touching the network or disk.

No sockets, threads or files in here. ``flow.download_flow()`` *asks* for I/O (send
this request, sleep this long, read this error body) and decides from the answers; the sync
and async clients each carry it out with a small driver, so their behaviour cannot drift.

- ``flow``: retries, polling a running generation, redirects and where the key may go.
- ``resume``: picking a broken download up again (resume, restart or ask again).
- ``request``: checking the id, building the request, keeping the key off errors.
- ``envelope``: an error response's body turned into the typed error.
- ``parsing``: the header parsers (``Retry-After``, ``content-disposition``, lengths).
- ``options``: the client's options, checked once.
"""
