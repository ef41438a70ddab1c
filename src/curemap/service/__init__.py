"""The living service around the store: scheduled updates, their lock and status, the
deployment check (``curemap doctor``), and what else runs beside the web server."""
