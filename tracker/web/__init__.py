"""The web face: server-rendered pages, the REST API `/api/v1`, Atom and ICS feeds, Prometheus metrics and the
health probes, on FastAPI and uvicorn. It runs inside `tracker run` when the config has `web:` (one process, one
database pool) or alone with `tracker serve` (a read-only replica). Thin: every route reads through `reads.py`,
which returns the dicts of tracker/listings.py, the same keys as the CLI's `--json`.

    app.py        create_app(): the routers, security headers (CSP), errors as JSON or pages
    context.py    what every route is given: config, engine, clock, the exposure cache, the poll queue
    auth.py       read and write tokens (constant-time), CSRF for forms
    reads.py      the read side: filters, keyset cursors, the overview
    exposure.py   the cached assessment of every asset, sorted and filtered, paged by keyset
    api.py        /api/v1: JSON reads and writes; OpenAPI at /api/v1/openapi.json
    pages.py      the HTML pages' routes and forms (templates/)
    render.py     the Jinja2 environment (escaping), the page frame, the error page, static/
    feeds.py      /feeds/events.atom, /feeds/calendar.ics
    ops.py        /metrics, /healthz, /readyz
    server.py     uvicorn in a thread (`tracker run`) or in the foreground (`tracker serve`)
"""
